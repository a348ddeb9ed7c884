import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, asPage, path, queryString } from './client';
import { json, mockApi } from '../test/mockApi';

function client(routes: Parameters<typeof mockApi>[0], token: string | null = 'tok', onUnauthorized = vi.fn()) {
  const api = mockApi(routes);
  return { client: new ApiClient({ getToken: () => token, onUnauthorized, fetchImpl: api.fetchImpl }), ...api, onUnauthorized };
}

describe('ApiClient', () => {
  it('sends the bearer token on authenticated calls', async () => {
    const { client: c, calls } = client({ 'GET /api/v1/auth/me': { id: '1', username: 'a', role: 'admin', must_change_password: false } });
    const me = await c.me();
    expect(me.username).toBe('a');
    expect(calls[0]?.headers.authorization).toBe('Bearer tok');
  });

  it('does not send a token with the login', async () => {
    const { client: c, calls } = client({
      'POST /api/v1/auth/login': { access_token: 'new', token_type: 'bearer', must_change_password: true },
    });
    const res = await c.login('admin', 'pw');
    expect(res.must_change_password).toBe(true);
    expect(calls[0]?.headers.authorization).toBeUndefined();
    expect(calls[0]?.body).toEqual({ username: 'admin', password: 'pw' });
    expect(calls[0]?.headers['content-type']).toBe('application/json');
  });

  it('turns error bodies into ApiError with code, message and id', async () => {
    const { client: c } = client({
      'GET /api/v1/users': () => json({ error: { code: 'forbidden', message: 'administrators only', id: 'e-1' } }, 403),
    });
    const err = await c.listUsers().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.status).toBe(403);
    expect(e.code).toBe('forbidden');
    expect(e.describe()).toBe('administrators only (error id e-1)');
  });

  it('reports a 401 so the session can end', async () => {
    const { client: c, onUnauthorized } = client({
      'GET /api/v1/hosts': () => json({ error: { code: 'unauthenticated', message: 'expired' } }, 401),
    });
    await expect(c.listHosts()).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('does not end the session on a failed login', async () => {
    const { client: c, onUnauthorized } = client({
      'POST /api/v1/auth/login': () => json({ error: { code: 'unauthenticated', message: 'invalid' } }, 401),
    });
    await expect(c.login('a', 'b')).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it('maps network failures to status 0', async () => {
    const c = new ApiClient({ getToken: () => null, fetchImpl: () => Promise.reject(new TypeError('boom')) });
    await expect(c.stats()).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  it('encodes path segments so ids cannot escape their route', async () => {
    const { client: c, calls } = client({ 'DELETE /api/v1/users/a%2F..%2Fb': () => new Response(null, { status: 204 }) });
    await c.deleteUser('a/../b');
    expect(calls[0]?.path).toBe('/api/v1/users/a%2F..%2Fb');
  });

  it('passes search and limits as query parameters', async () => {
    const { client: c, calls } = client({ 'GET /api/v1/events': { items: [], next_cursor: null } });
    await c.events({ search: 'service:ssh user:"a b"', limit: 50, cursor: undefined });
    const url = new URL(calls[0]?.url ?? '', 'http://x');
    expect(url.searchParams.get('search')).toBe('service:ssh user:"a b"');
    expect(url.searchParams.get('limit')).toBe('50');
    expect(url.searchParams.has('cursor')).toBe(false);
  });

  it('joins the pages of a cast, keeping one header', async () => {
    const { client: c, calls } = client({
      'GET /api/v1/sessions/s1/cast': (call) => {
        const offset = new URL(call.url, 'http://x').searchParams.get('offset');
        if (!offset)
          return new Response('{"version":2,"width":80,"height":24}\n[0.1,"o","a"]\n', {
            headers: { 'X-Next-Offset': '1', 'X-Total-Count': '2' },
          });
        return new Response('{"version":2,"width":80,"height":24}\n[0.2,"o","b"]\n', { headers: { 'X-Total-Count': '2' } });
      },
    });
    const text = await c.sessionCast('s1');
    expect(text).toBe('{"version":2,"width":80,"height":24}\n[0.1,"o","a"]\n[0.2,"o","b"]\n');
    expect(calls).toHaveLength(2);
    expect(new URL(calls[1]?.url ?? '', 'http://x').searchParams.get('offset')).toBe('1');
  });

  it('polls a deployment by its tracking id', async () => {
    const { client: c } = client({ 'GET /api/v1/deckies/deployments/t-1': { id: 't-1', state: 'running' } });
    expect((await c.deployStatus('t-1')).state).toBe('running');
  });

  it('asks for an enrollment token by host name', async () => {
    const { client: c, calls } = client({ 'POST /api/v1/hosts/enroll-token': { token: 'x', host_name: 'h' } });
    await c.createEnrollToken('h');
    expect(calls[0]?.body).toEqual({ name: 'h' });
  });

  it('uses the new token answered by a password change', async () => {
    const { client: c, calls } = client({
      'POST /api/v1/auth/change-password': { access_token: 't2', token_type: 'bearer', must_change_password: false },
    });
    const res = await c.changePassword('old-password!', 'new-password-123');
    expect(res.access_token).toBe('t2');
    expect(calls[0]?.body).toEqual({ current_password: 'old-password!', new_password: 'new-password-123' });
  });
});

describe('helpers', () => {
  it('queryString drops empty values', () => {
    expect(queryString({ a: 1, b: '', c: undefined, d: null, e: 'x y' })).toBe('?a=1&e=x+y');
    expect(queryString({})).toBe('');
  });

  it('path encodes every segment but the first', () => {
    expect(path('/attackers', '203.0.113.7', 'stream')).toBe('/attackers/203.0.113.7/stream');
    expect(path('/sessions', 'a?b#c')).toBe('/sessions/a%3Fb%23c');
  });

  it('asPage accepts arrays and item pages', () => {
    expect(asPage([1, 2])).toEqual({ items: [1, 2], next_cursor: null });
    expect(asPage({ items: [1], next_cursor: 'n' })).toEqual({ items: [1], next_cursor: 'n' });
    expect(() => asPage({ nope: true })).toThrow(ApiError);
  });
});
