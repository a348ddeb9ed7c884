// Attacker-controlled strings are rendered as text, never as HTML.

import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import type { DecnetEvent } from '../api/types';
import { EventTable } from '../components/EventTable';
import { ADMIN, mockApi, signedIn, XSS } from './mockApi';
import { renderApp } from './render';

vi.mock('../components/Histogram', () => ({ Histogram: () => null }));

const hostile: DecnetEvent = {
  id: '0190-x',
  ts: '2026-01-01T00:00:00Z',
  host: XSS,
  decky: XSS,
  service: XSS,
  event_type: XSS,
  src_ip: XSS,
  src_port: 1,
  dst_port: 22,
  session_id: XSS,
  fields: { principal: XSS, [XSS]: XSS },
  msg: XSS,
};

function assertInert(container: HTMLElement) {
  expect(container.querySelector('img')).toBeNull();
  expect(container.querySelector('[onerror]')).toBeNull();
  expect(document.querySelector('img')).toBeNull();
}

describe('attacker strings', () => {
  it('are text in the event table', () => {
    const { container } = render(
      <MemoryRouter>
        <EventTable events={[hostile]} caption="events" onFilter={() => {}} />
      </MemoryRouter>,
    );
    assertInert(container);
    expect(screen.getAllByText(XSS).length).toBeGreaterThan(5);
  });

  it('are text on the attacker page (credentials, sessions, artifacts, timeline)', async () => {
    signedIn();
    const api = mockApi({
      'GET /api/v1/auth/me': ADMIN,
      'GET /api/v1/attackers/a1': {
        attacker: {
          id: 'a1',
          ip: XSS,
          first_seen: '2026-01-01T00:00:00Z',
          last_seen: '2026-01-01T00:00:00Z',
          event_count: 1,
          services: [XSS],
          deckies: [XSS],
        },
        events: [hostile],
        credentials: [{ id: 1, principal: XSS, secret_printable: XSS, secret_kind: XSS, last_outcome: XSS, decky: XSS, service: XSS, attempt_count: 2 }],
        sessions: [{ sid: XSS, decky: XSS, service: XSS, started_at: '2026-01-01T00:00:00Z', transcript_bytes: 100 }],
        artifacts: [{ id: 1, sha256: 'ab'.repeat(32), size: 10, decky: XSS, service: XSS, origin: XSS, stored_as: XSS }],
      },
      'POST /api/v1/auth/sse-ticket': { ticket: 't' },
    });
    const { container } = renderApp('/attackers/a1', api.fetchImpl);
    expect(await screen.findByText('Credentials tried (1)')).toBeInTheDocument();
    assertInert(container);
    expect(screen.getAllByText(XSS).length).toBeGreaterThan(10);
    // The session link is percent-encoded, not interpreted.
    const link = screen.getByRole('link', { name: `Replay session ${XSS}` });
    expect(link.getAttribute('href')).toBe('/sessions/' + encodeURIComponent(XSS));
  });

  it('are text in the users and fleet pages', async () => {
    signedIn();
    const api = mockApi({
      'GET /api/v1/auth/me': ADMIN,
      'GET /api/v1/users': [ADMIN, { id: 'u2', username: XSS, role: 'viewer', must_change_password: true, created_at: '2026-01-01T00:00:00Z' }],
      'GET /api/v1/hosts': [{ id: 'h1', name: XSS, status: XSS, agent_version: XSS, link: { state: XSS, agent_version: XSS, rtt_ms: 1.5 }, cert_fingerprints: [XSS] }],
      'GET /api/v1/deckies': [{ name: XSS, host: XSS, ip: XSS, persona: XSS, services: [{ service: XSS, port: 22, state: XSS }], state: XSS, last_error: XSS }],
    });
    const users = renderApp('/users', api.fetchImpl);
    expect(await screen.findAllByText(XSS)).not.toHaveLength(0);
    assertInert(users.container);
    users.unmount();
    const fleet = renderApp('/fleet', api.fetchImpl);
    expect(await screen.findAllByText(XSS)).not.toHaveLength(0);
    assertInert(fleet.container);
  });
});
