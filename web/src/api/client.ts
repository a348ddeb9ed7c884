// A small typed client of the master's REST API.
//
// The bearer token is read through `getToken` on every call (it lives in the
// auth context, never in localStorage); a 401 calls `onUnauthorized` so the
// dashboard can drop the session and show the login page.

import type {
  ApiErrorBody,
  AttackerDetail,
  AttackerSummary,
  Decky,
  DeployRequest,
  DecnetEvent,
  EnrollToken,
  Histogram,
  Host,
  IssuedUser,
  LoginResponse,
  Me,
  Page,
  Role,
  SseTicket,
  Stats,
  Tracking,
  User,
} from './types';

export const API_BASE = '/api/v1';

/** Events per page of a session recording (the server's maximum). */
const CAST_PAGE = 5000;

/** An error answered by the API (or a network failure, with status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly errorId: string | undefined;

  constructor(status: number, code: string, message: string, errorId?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.errorId = errorId;
  }

  /** A message fit for the user, with the server's error id for support. */
  describe(): string {
    return this.errorId ? `${this.message} (error id ${this.errorId})` : this.message;
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Send the bearer token (default true). */
  auth?: boolean;
}

export interface ClientOptions {
  baseUrl?: string;
  getToken: () => string | null;
  onUnauthorized?: () => void;
  fetchImpl?: typeof fetch;
}

/** Joins path segments, percent-encoding each one (never trust an id to be URL-safe). */
export function path(...segments: (string | number)[]): string {
  return segments
    .map((s, i) => (i === 0 ? String(s) : encodeURIComponent(String(s))))
    .join('/');
}

/** Builds `?a=1&b=2`, leaving out empty values. */
export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Keys under which list endpoints put their rows. */
const LIST_KEYS = ['items', 'events', 'attackers', 'sessions', 'hosts', 'deckies', 'users', 'credentials', 'artifacts'];

/** Accepts a bare array or `{<rows>: [...], next_cursor}`. */
export function asPage<T>(value: unknown): Page<T> {
  if (Array.isArray(value)) return { items: value as T[], next_cursor: null };
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of LIST_KEYS) {
      const items = obj[key];
      if (Array.isArray(items)) {
        const next = obj.next_cursor;
        return { items: items as T[], next_cursor: typeof next === 'string' && next ? next : null };
      }
    }
  }
  throw new ApiError(0, 'bad_response', 'unexpected response from the server');
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  if (!value || typeof value !== 'object') return false;
  const err = (value as { error?: unknown }).error;
  return !!err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string';
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly getToken: () => string | null;
  private readonly onUnauthorized: (() => void) | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl ?? API_BASE;
    this.getToken = options.getToken;
    this.onUnauthorized = options.onUnauthorized;
    this.fetchImpl = options.fetchImpl ?? ((input, init) => fetch(input, init));
  }

  /** Performs a request and returns the raw response once it is known to be a success. */
  async raw(method: string, route: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const useAuth = options.auth ?? true;
    if (useAuth) {
      const token = this.getToken();
      if (token) headers.Authorization = `Bearer ${token}`;
    }
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${route}${queryString(options.query)}`, {
        method,
        headers,
        body,
        signal: options.signal,
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', 'cannot reach the DECNET master');
    }
    if (!response.ok) {
      let parsed: unknown = null;
      try {
        parsed = await response.json();
      } catch {
        parsed = null;
      }
      const err = isErrorBody(parsed)
        ? new ApiError(response.status, parsed.error.code, parsed.error.message, parsed.error.id)
        : new ApiError(response.status, 'http_' + response.status, response.statusText || 'request failed');
      if (response.status === 401 && useAuth) this.onUnauthorized?.();
      throw err;
    }
    return response;
  }

  async json<T>(method: string, route: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.raw(method, route, options);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(response.status, 'bad_response', 'unexpected response from the server');
    }
  }

  // --- auth -------------------------------------------------------------

  login(username: string, password: string): Promise<LoginResponse> {
    return this.json('POST', '/auth/login', { body: { username, password }, auth: false });
  }

  logout(): Promise<void> {
    return this.json('POST', '/auth/logout');
  }

  me(): Promise<Me> {
    return this.json('GET', '/auth/me');
  }

  /** Changes the password; every older token is revoked and a new one is returned. */
  changePassword(currentPassword: string, newPassword: string): Promise<LoginResponse> {
    return this.json('POST', '/auth/change-password', {
      body: { current_password: currentPassword, new_password: newPassword },
    });
  }

  sseTicket(): Promise<SseTicket> {
    return this.json('POST', '/auth/sse-ticket');
  }

  // --- users (admin) ----------------------------------------------------

  async listUsers(): Promise<User[]> {
    return asPage<User>(await this.json('GET', '/users')).items;
  }

  /** Creates a user; without a password the master generates a one-time one. */
  createUser(username: string, role: Role, password?: string): Promise<IssuedUser> {
    return this.json('POST', '/users', { body: password ? { username, role, password } : { username, role } });
  }

  deleteUser(username: string): Promise<void> {
    return this.json('DELETE', path('/users', username));
  }

  setRole(username: string, role: Role): Promise<User> {
    return this.json('PUT', path('/users', username, 'role'), { body: { role } });
  }

  /** Resets a password (generated when none is given); the user must change it at next login. */
  resetPassword(username: string, password?: string): Promise<IssuedUser> {
    return this.json('POST', path('/users', username, 'reset-password'), { body: password ? { password } : {} });
  }

  // --- hosts ------------------------------------------------------------

  async listHosts(): Promise<Host[]> {
    return asPage<Host>(await this.json('GET', '/hosts')).items;
  }

  host(name: string): Promise<Host> {
    return this.json('GET', path('/hosts', name));
  }

  /** A single-use enrollment token for a new host named `name` (shown once). */
  createEnrollToken(name: string, ttlSeconds?: number): Promise<EnrollToken> {
    return this.json('POST', '/hosts/enroll-token', {
      body: ttlSeconds ? { name, ttl_seconds: ttlSeconds } : { name },
    });
  }

  revokeHost(name: string): Promise<Host> {
    return this.json('POST', path('/hosts', name, 'revoke'));
  }

  // --- deckies ----------------------------------------------------------

  async listDeckies(): Promise<Decky[]> {
    return asPage<Decky>(await this.json('GET', '/deckies')).items;
  }

  /** Asks for a deployment; answers 202 with the tracking state. */
  deploy(request: DeployRequest): Promise<Tracking> {
    return this.json('POST', '/deckies/deploy', { body: request });
  }

  deployStatus(trackingId: string): Promise<Tracking> {
    return this.json('GET', path('/deckies/deployments', trackingId));
  }

  /** Tears a decky down; answers 202 with the tracking state. */
  teardown(name: string): Promise<Tracking | undefined> {
    return this.json('DELETE', path('/deckies', name));
  }

  // --- events -----------------------------------------------------------

  async events(query: {
    search?: string;
    since?: string;
    until?: string;
    cursor?: string;
    limit?: number;
  }, signal?: AbortSignal): Promise<Page<DecnetEvent>> {
    return asPage<DecnetEvent>(await this.json('GET', '/events', { query, signal }));
  }

  /** Event counts per bucket (`bucket` in seconds; the server picks one when absent). */
  histogram(query: { search?: string; since?: string; until?: string; bucket?: number }, signal?: AbortSignal): Promise<Histogram> {
    return this.json('GET', '/events/histogram', { query, signal });
  }

  // --- attackers --------------------------------------------------------

  async attackers(query: { sort?: 'recent' | 'active'; search?: string; cursor?: string; limit?: number }): Promise<Page<AttackerSummary>> {
    return asPage<AttackerSummary>(await this.json('GET', '/attackers', { query }));
  }

  attacker(id: string): Promise<AttackerDetail> {
    return this.json('GET', path('/attackers', id));
  }

  // --- sessions ---------------------------------------------------------

  /**
   * The whole recording as asciicast v2 text (header line, then one event per line).
   * The server answers pages that each are a complete cast; they are joined here.
   */
  async sessionCast(sid: string, signal?: AbortSignal): Promise<string> {
    const lines: string[] = [];
    let offset: string | null = null;
    // A recording is capped at 10 MB; this bounds the number of pages anyway.
    for (let page = 0; page < 10_000; page++) {
      const response = await this.raw('GET', path('/sessions', sid, 'cast'), {
        query: { offset: offset ?? undefined, limit: CAST_PAGE },
        signal,
      });
      const pageLines = (await response.text()).split('\n').filter((l) => l !== '');
      // Every page starts with the header: keep the first one only.
      lines.push(...(page === 0 ? pageLines : pageLines.slice(1)));
      offset = response.headers.get('X-Next-Offset');
      if (!offset) break;
    }
    return lines.join('\n') + '\n';
  }

  // --- misc ---------------------------------------------------------------

  stats(): Promise<Stats> {
    return this.json('GET', '/stats');
  }
}
