// The demo fleet `decnet-master up` runs on its own enrolled agent (host `local`),
// placed by global-setup on addresses and ports that a host sshd or web server
// cannot hold (CI runs as root, where the default offset is 0 and ssh would be 22).

export const DEMO_HOST = 'local';
export const DEMO_FIRST_IP = '127.77.9.10';
export const DEMO_PORT_OFFSET = 20000;

/** Environment of the spawned `decnet-master up`. */
export const DEMO_ENV = {
  DECNET_EMBEDDED__DEMO_FIRST_IP: DEMO_FIRST_IP,
  DECNET_EMBEDDED__DEMO_PORT_OFFSET: String(DEMO_PORT_OFFSET),
};

function ipPlus(ip: string, n: number): string {
  const parts = ip.split('.').map(Number);
  parts[3] = (parts[3] ?? 0) + n;
  return parts.join('.');
}

/** What the fleet view must show: name, address and `service/port` of each demo decky
 * (templates/src/fleet/demo.rs: web-01 ssh+http, db-01 mysql+redis, ws-01 http+ftp). */
export const DEMO_DECKIES: { name: string; ip: string; services: string[] }[] = [
  { name: 'web-01', ip: DEMO_FIRST_IP, services: [`ssh/${DEMO_PORT_OFFSET + 22}`, `http/${DEMO_PORT_OFFSET + 80}`] },
  {
    name: 'db-01',
    ip: ipPlus(DEMO_FIRST_IP, 1),
    services: [`mysql/${DEMO_PORT_OFFSET + 3306}`, `redis/${DEMO_PORT_OFFSET + 6379}`],
  },
  { name: 'ws-01', ip: ipPlus(DEMO_FIRST_IP, 2), services: [`http/${DEMO_PORT_OFFSET + 80}`, `ftp/${DEMO_PORT_OFFSET + 21}`] },
];

/**
 * Passwords web-01 may accept for root. Its spec sets no `users`, so the SSH
 * emulator accepts one weak root password chosen by the decky's seed, which
 * without a `seed` key is derived from the decky name
 * (templates/src/services/ssh/auth.rs `WEAK`, persona/seed.rs): for `web-01`
 * that is `admin`, tried first; the rest of the list is the fallback should the
 * derivation change.
 */
export const WEB01_ROOT_PASSWORDS = [
  'admin',
  '123456',
  'password',
  'root',
  'toor',
  '12345678',
  'qwerty',
  '1234',
  'P@ssw0rd',
  'admin123',
  'changeme',
  '123qwe',
];
