import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ADMIN, json, mockApi, signedIn, VIEWER } from './mockApi';
import { renderApp } from './render';

vi.mock('../components/Histogram', () => ({ Histogram: () => null }));

const fleetRoutes = {
  'GET /api/v1/hosts': [],
  'GET /api/v1/deckies': [],
};

describe('sign-in', () => {
  it('forces a password change, then lands on the fleet with the new token', async () => {
    let token = '';
    const api = mockApi({
      'POST /api/v1/auth/login': { access_token: 't1', token_type: 'bearer', must_change_password: true },
      'GET /api/v1/auth/me': (c) =>
        c.headers.authorization === 'Bearer t2'
          ? ADMIN
          : { ...ADMIN, must_change_password: true },
      'POST /api/v1/auth/change-password': (c) => {
        token = c.headers.authorization ?? '';
        return { access_token: 't2', token_type: 'bearer', must_change_password: false };
      },
      ...fleetRoutes,
    });
    const user = userEvent.setup();
    renderApp('/fleet', api.fetchImpl);
    await user.type(await screen.findByLabelText('Username'), 'admin');
    await user.type(screen.getByLabelText('Password'), 'one-time-pw');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { name: 'Change password' })).toBeInTheDocument();
    expect(screen.getByText(/must choose a new password/)).toBeInTheDocument();
    await user.type(screen.getByLabelText('Current password'), 'one-time-pw');
    await user.type(screen.getByLabelText('New password'), 'short');
    await user.type(screen.getByLabelText('Repeat the new password'), 'short');
    await user.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('at least 12');

    await user.clear(screen.getByLabelText('New password'));
    await user.clear(screen.getByLabelText('Repeat the new password'));
    await user.type(screen.getByLabelText('New password'), 'a-long-new-password');
    await user.type(screen.getByLabelText('Repeat the new password'), 'a-long-new-password');
    await user.click(screen.getByRole('button', { name: 'Change password' }));

    expect(await screen.findByRole('heading', { name: 'Fleet' })).toBeInTheDocument();
    expect(token).toBe('Bearer t1');
    expect(sessionStorage.getItem('decnet.token')).toBe('t2');
    expect(localStorage.length).toBe(0);
    const body = api.calls.find((c) => c.path === '/api/v1/auth/change-password')?.body;
    expect(body).toEqual({ current_password: 'one-time-pw', new_password: 'a-long-new-password' });
  });

  it('shows the server message on a failed login', async () => {
    const api = mockApi({
      'POST /api/v1/auth/login': () =>
        json({ error: { code: 'unauthenticated', message: 'invalid username or password', id: 'x' } }, 401),
    });
    const user = userEvent.setup();
    renderApp('/login', api.fetchImpl);
    await user.type(await screen.findByLabelText('Username'), 'admin');
    await user.type(screen.getByLabelText('Password'), 'nope');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('invalid username or password');
  });

  it('logs out: revokes the token and forgets it', async () => {
    signedIn();
    const api = mockApi({
      'GET /api/v1/auth/me': ADMIN,
      'POST /api/v1/auth/logout': () => new Response(null, { status: 204 }),
      ...fleetRoutes,
    });
    const user = userEvent.setup();
    renderApp('/fleet', api.fetchImpl);
    await user.click(await screen.findByRole('button', { name: 'Log out' }));
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeInTheDocument();
    expect(api.calls.some((c) => c.path === '/api/v1/auth/logout' && c.headers.authorization === 'Bearer test-token')).toBe(true);
    expect(sessionStorage.getItem('decnet.token')).toBeNull();
  });

  it('drops an expired token and shows the login', async () => {
    signedIn();
    const api = mockApi({
      'GET /api/v1/auth/me': () => json({ error: { code: 'unauthenticated', message: 'expired' } }, 401),
    });
    renderApp('/events', api.fetchImpl);
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeInTheDocument();
  });
});

describe('roles', () => {
  const data = {
    'GET /api/v1/hosts': [{ id: 'h1', name: 'sensor-1', status: 'online', agent_version: '0.1.0', link: { host: 'sensor-1', state: 'up', agent_version: '0.1.0', rtt_ms: 2.25 } }],
    'GET /api/v1/deckies': [
      { name: 'web-01', host: 'sensor-1', ip: '10.0.0.5', persona: 'linux-server', services: [{ service: 'ssh', port: 22, state: 'running' }], state: 'running' },
    ],
    'GET /api/v1/users': [ADMIN, VIEWER],
  };

  it('a viewer gets no admin actions, and the forms are not rendered', async () => {
    signedIn();
    const api = mockApi({ 'GET /api/v1/auth/me': VIEWER, ...data });
    const fleet = renderApp('/fleet', api.fetchImpl);
    expect(await screen.findByText('web-01')).toBeInTheDocument();
    expect(screen.getByText('sensor-1')).toBeInTheDocument();
    expect(screen.getByText('2.3 ms')).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Users' })).toBeNull();
    expect(screen.queryByRole('button', { name: /tear down/i })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Deploy' })).toBeNull();
    expect(screen.queryByLabelText('Archetype')).toBeNull();
    fleet.unmount();

    const hosts = renderApp('/hosts', api.fetchImpl);
    expect(await screen.findByText('sensor-1')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /enrollment token/i })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Revoke' })).toBeNull();
    hosts.unmount();

    renderApp('/users', api.fetchImpl);
    expect(await screen.findByText('Only administrators manage users.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Add user' })).toBeNull();
    expect(api.calls.some((c) => c.path === '/api/v1/users')).toBe(false);
  });

  it('an admin deploys an archetype and follows the tracking id', async () => {
    signedIn();
    let polls = 0;
    const api = mockApi({
      'GET /api/v1/auth/me': ADMIN,
      ...data,
      'POST /api/v1/deckies/deploy': () =>
        json({ id: 'trk-1', operation: 'deploy', state: 'dispatched', message: 'sent', deckies: ['devops-host-1'] }, 202),
      'GET /api/v1/deckies/deployments/trk-1': () => {
        polls++;
        return { id: 'trk-1', state: polls > 1 ? 'succeeded' : 'running', message: polls > 1 ? 'done' : 'working', deckies: ['a'] };
      },
    });
    const user = userEvent.setup();
    renderApp('/fleet', api.fetchImpl);
    await user.selectOptions(await screen.findByLabelText('Archetype'), 'devops-host');
    const count = screen.getByLabelText('Count');
    await user.clear(count);
    await user.type(count, '3');
    await user.selectOptions(screen.getByLabelText('Host'), 'sensor-1');
    await user.click(screen.getByRole('button', { name: 'Deploy' }));
    await waitFor(() => expect(screen.getByText('done')).toBeInTheDocument(), { timeout: 4000 });
    const body = api.calls.find((c) => c.path === '/api/v1/deckies/deploy')?.body;
    expect(body).toEqual({
      ini:
        '[devops-host-1]\narchetype = devops-host\n\n' +
        '[devops-host-2]\narchetype = devops-host\n\n' +
        '[devops-host-3]\narchetype = devops-host\n',
      host: 'sensor-1',
    });
    expect(screen.getByRole('button', { name: 'Tear down' })).toBeInTheDocument();
  });

  it('an admin creates an enrollment token and sees the exact command', async () => {
    signedIn();
    const api = mockApi({
      'GET /api/v1/auth/me': ADMIN,
      ...data,
      'POST /api/v1/hosts/enroll-token': () =>
        json({ token: 'dnet1.tok-123', host_name: 'sensor-2', expires_at: '2026-01-01T01:00:00Z' }, 201),
    });
    const user = userEvent.setup();
    renderApp('/hosts', api.fetchImpl);
    await user.type(await screen.findByLabelText('Host name'), 'sensor-2');
    await user.click(screen.getByRole('button', { name: 'Create enrollment token' }));
    expect(await screen.findByText('decnet-agent enroll --token dnet1.tok-123')).toBeInTheDocument();
    expect(api.calls.find((c) => c.path === '/api/v1/hosts/enroll-token')?.body).toEqual({ name: 'sensor-2' });
    expect(screen.getByRole('button', { name: 'Copy command' })).toBeInTheDocument();
  });
});
