// Shapes of the master's REST API (`/api/v1`, see /api/v1/openapi.json).
// Every string that comes from an attacker (usernames, passwords, commands,
// field values, messages) is plain data: render it as text only.

export type Role = 'admin' | 'viewer';

export interface LoginResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  must_change_password: boolean;
}

export interface Me {
  id: string;
  username: string;
  role: Role;
  must_change_password: boolean;
}

export interface SseTicket {
  ticket: string;
  expires_in?: number;
}

export interface User {
  id: string;
  username: string;
  role: Role;
  must_change_password: boolean;
  created_at?: string;
}

/** A created user or a reset password. */
export interface IssuedUser {
  user: User;
  /** The generated one-time password, shown once; absent when the admin chose it. */
  password?: string | null;
}

/** Host status: enrolled (never connected), online, offline, revoked. */
export type HostStatus = 'enrolled' | 'online' | 'offline' | 'revoked' | string;

/** State of an agent's mesh link: up, connecting, down, or unknown (no mesh view). */
export type LinkState = 'up' | 'connecting' | 'down' | 'unknown' | string;

export interface LinkInfo {
  host?: string;
  state: LinkState;
  agent_version?: string | null;
  /** Last measured round-trip time in milliseconds. */
  rtt_ms?: number | null;
}

export interface Host {
  id: string;
  name: string;
  status: HostStatus;
  agent_version?: string | null;
  /** The live mesh link. */
  link?: LinkInfo;
  address?: string | null;
  cert_fingerprints?: string[];
  enrolled_at?: string | null;
  last_seen?: string | null;
  revoked_at?: string | null;
  /** True for the in-process agent of `decnet-master up`. */
  embedded?: boolean;
}

export interface EnrollToken {
  /** Pass to `decnet-agent enroll --token`; single use. */
  token: string;
  host_name?: string;
  expires_at?: string;
  /** The exact command, when the server provides one. */
  command?: string;
}

export interface DeckyService {
  service: string;
  port?: number | null;
  state?: string | null;
}

export interface Decky {
  name: string;
  /** Name of the host (agent) that runs it. */
  host: string;
  ip?: string | null;
  persona?: string | null;
  os?: string | null;
  /** pending, deploying, running, degraded, failed, stopped, tearing_down, torn_down */
  state: string;
  last_error?: string | null;
  services: DeckyService[];
  updated_at?: string | null;
  /** Link state of its host's agent. */
  link?: LinkState;
}

/** Where a deployment goes: the embedded agent, or an enrolled host by name. */
export type DeployTarget = { kind: 'embedded' } | { kind: 'host'; host: string };

/** One decky of a JSON deployment spec (the agent validates the rest). */
export interface DeckySpec {
  name: string;
  archetype?: string;
  [key: string]: unknown;
}

/** A deployment: a fleet INI file or a list of decky specs, to a host (default: the embedded agent). */
export type DeployRequest = { ini: string; host?: string } | { deckies: DeckySpec[]; host?: string };

/** Where a deploy or teardown request stands (answered with 202 and by its tracking URL). */
export interface Tracking {
  id: string;
  operation?: 'deploy' | 'teardown' | string;
  target?: DeployTarget;
  deckies?: string[];
  /** not_connected, dispatched, running, succeeded, failed */
  state: string;
  message?: string | null;
  requested_at?: string;
}

export interface DecnetEvent {
  id: string;
  ts: string;
  host: string;
  decky: string;
  service: string;
  event_type: string;
  src_ip: string;
  src_port?: number | null;
  dst_port?: number | null;
  session_id?: string | null;
  fields: Record<string, string>;
  msg?: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface HistogramBucket {
  /** Bucket start (RFC 3339). */
  start: string;
  count: number;
}

export interface Histogram {
  /** Bucket width in seconds. */
  bucket_seconds?: number;
  /** Oldest first, empty buckets included. */
  buckets: HistogramBucket[];
}

export interface AttackerSummary {
  id: string;
  ip: string;
  first_seen: string;
  last_seen: string;
  event_count: number;
  services: string[];
  deckies: string[];
  credential_count?: number;
  session_count?: number;
}

export interface Credential {
  id?: number | string;
  attacker_ip?: string;
  decky: string;
  service: string;
  principal: string;
  secret_kind?: string | null;
  secret_printable?: string | null;
  last_outcome?: string | null;
  success_count?: number;
  attempt_count?: number;
  first_seen?: string | null;
  last_seen?: string | null;
}

export interface SessionSummary {
  sid: string;
  host?: string;
  decky: string;
  service: string;
  src_ip?: string | null;
  src_port?: number | null;
  started_at: string;
  last_event_at?: string | null;
  ended_at?: string | null;
  event_count?: number;
  /** Size of the recording; absent or null when nothing was recorded. */
  transcript_bytes?: number | null;
  truncated?: boolean;
  recorded?: boolean;
}

export interface Artifact {
  id?: number | string;
  sha256: string;
  size?: number | null;
  decky: string;
  service?: string;
  src_ip?: string;
  origin?: string | null;
  stored_as?: string | null;
  session_id?: string | null;
  seen_count?: number;
  first_seen?: string | null;
  last_seen?: string | null;
}

export interface AttackerDetail {
  attacker: AttackerSummary;
  events: DecnetEvent[];
  credentials: Credential[];
  sessions: SessionSummary[];
  artifacts: Artifact[];
}

export interface Stats {
  [key: string]: unknown;
}

export interface ApiErrorBody {
  error: { code: string; message: string; id?: string };
}
