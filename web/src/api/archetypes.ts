// Archetypes a fleet can be deployed from (name → default services), as the
// templates crate defines them. The deploy form offers these names; the
// master resolves services, OS and distro itself.
export const ARCHETYPES: { name: string; services: string[] }[] = [
  { name: 'deaddeck', services: ['ssh'] },
  { name: 'linux-server', services: ['ssh', 'http'] },
  { name: 'web-server', services: ['http', 'ftp'] },
  { name: 'database-server', services: ['mysql', 'postgres', 'redis'] },
  { name: 'mail-server', services: ['smtp', 'pop3', 'imap'] },
  { name: 'file-server', services: ['smb', 'ftp', 'ssh'] },
  { name: 'windows-workstation', services: ['smb', 'rdp'] },
  { name: 'windows-server', services: ['smb', 'rdp', 'ldap'] },
  { name: 'domain-controller', services: ['ldap', 'smb', 'rdp', 'llmnr'] },
  { name: 'printer', services: ['snmp', 'ftp'] },
  { name: 'iot-device', services: ['mqtt', 'snmp', 'telnet'] },
  { name: 'industrial-control', services: ['conpot', 'snmp'] },
  { name: 'voip-server', services: ['sip'] },
  { name: 'monitoring-node', services: ['snmp', 'ssh'] },
  { name: 'devops-host', services: ['docker_api', 'ssh', 'k8s'] },
];
