// A fake of the master's API for component tests: routes by "METHOD /path".

import { vi } from 'vitest';

export interface Call {
  method: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A function of the call, or a fixed JSON body. */
export type Handler = ((call: Call) => unknown) | object | string | number | boolean | null;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function mockApi(routes: Record<string, Handler>) {
  const calls: Call[] = [];
  const fetchImpl = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? 'GET').toUpperCase();
    const path = url.replace(/^https?:\/\/[^/]+/, '').split('?')[0] ?? '';
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    const call = { method, url, path, headers, body };
    calls.push(call);
    const key = `${method} ${path}`;
    const handler = routes[key] ?? Object.entries(routes).find(([k]) => matches(k, key))?.[1];
    if (!handler) return json({ error: { code: 'not_found', message: `no mock for ${key}` } }, 404);
    const out: unknown = typeof handler === 'function' ? await (handler as (c: Call) => unknown)(call) : handler;
    return out instanceof Response ? out : json(out);
  });
  return { fetchImpl: fetchImpl as unknown as typeof fetch, calls };
}

/** `GET /attackers/*` matches `GET /attackers/abc`. */
function matches(pattern: string, key: string): boolean {
  if (!pattern.includes('*')) return false;
  const re = new RegExp('^' + pattern.split('*').map(escape).join('[^/]+') + '$');
  return re.test(key);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export const ADMIN = { id: 'u-admin', username: 'admin', role: 'admin', must_change_password: false };
export const VIEWER = { id: 'u-viewer', username: 'watcher', role: 'viewer', must_change_password: false };

/** Puts a token in sessionStorage as if the user had signed in earlier in this tab. */
export function signedIn() {
  sessionStorage.setItem('decnet.token', 'test-token');
}

export const XSS = '<img src=x onerror=alert(1)>';
