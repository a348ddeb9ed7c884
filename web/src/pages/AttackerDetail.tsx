// One attacker: a timeline of its events across deckies and services (live),
// the credentials it tried, its sessions (with replay) and its artifacts.

import { useCallback, useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useApi } from '../auth/AuthContext';
import type { DecnetEvent, SessionSummary } from '../api/types';
import { useQuery } from '../api/useQuery';
import { useStream } from '../sse/useStream';
import { toEvent } from '../sse/events';
import { mergeEvents } from './Events';
import { EventTable } from '../components/EventTable';
import { ErrorMessage } from '../components/ErrorMessage';
import { StateBadge } from '../components/StateBadge';
import { Time } from '../components/Time';

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Whether a session has a recording to replay. */
export function isRecorded(s: SessionSummary): boolean {
  if (s.recorded !== undefined) return s.recorded;
  return (s.transcript_bytes ?? 0) > 0;
}

function duration(start: string, end: string | null | undefined): string {
  if (!end) return 'open';
  const ms = new Date(end).getTime() - new Date(start).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export function AttackerDetail() {
  const { id = '' } = useParams();
  const api = useApi();
  const detail = useQuery(`attacker:${id}`, () => api.attacker(id));
  const [live, setLive] = useState<DecnetEvent[]>([]);

  useEffect(() => {
    document.title = `Attacker ${detail.data?.attacker.ip ?? id} · DECNET`;
  }, [detail.data, id]);
  useEffect(() => setLive([]), [id]);

  const onLive = useCallback((data: unknown) => {
    const e = toEvent(data);
    if (e) setLive((cur) => mergeEvents(cur, [e]));
  }, []);
  const stream = useStream<unknown>(detail.data ? `/attackers/${encodeURIComponent(id)}/stream` : null, onLive);

  if (detail.error && !detail.data) {
    return (
      <>
        <h1>Attacker</h1>
        <ErrorMessage message={detail.error} />
        <Link to="/attackers">Back to the attackers</Link>
      </>
    );
  }
  if (!detail.data) return <p role="status">Loading the attacker…</p>;
  const { attacker, credentials, sessions, artifacts } = detail.data;
  const events = mergeEvents(detail.data.events, live, Number.MAX_SAFE_INTEGER);

  return (
    <>
      <p>
        <Link to="/attackers">← Attackers</Link>
      </p>
      <h1>
        Attacker <span className="mono">{attacker.ip}</span>
      </h1>
      <dl className="inline">
        <dt>First seen</dt>
        <dd>
          <Time ts={attacker.first_seen} />
        </dd>
        <dt>Last seen</dt>
        <dd>
          <Time ts={attacker.last_seen} />
        </dd>
        <dt>Events</dt>
        <dd>{attacker.event_count}</dd>
        <dt>Deckies</dt>
        <dd>{attacker.deckies.join(', ') || '—'}</dd>
        <dt>Services</dt>
        <dd>{attacker.services.join(', ') || '—'}</dd>
        <dt>Live</dt>
        <dd>
          <StateBadge state={stream.state} />
        </dd>
      </dl>
      <ErrorMessage message={stream.serverError} />

      <section aria-labelledby="creds-title">
        <h2 id="creds-title">Credentials tried ({credentials.length})</h2>
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Credentials tried">
          <table>
            <thead>
              <tr>
                <th scope="col">Principal</th>
                <th scope="col">Secret</th>
                <th scope="col">Kind</th>
                <th scope="col">Last outcome</th>
                <th scope="col">Decky</th>
                <th scope="col">Service</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last tried</th>
              </tr>
            </thead>
            <tbody>
              {credentials.length === 0 ? (
                <tr>
                  <td colSpan={8} className="muted">
                    None.
                  </td>
                </tr>
              ) : null}
              {credentials.map((c, i) => (
                <tr key={c.id ?? i}>
                  <td className="mono">{c.principal}</td>
                  <td className="mono">{c.secret_printable ?? '(binary)'}</td>
                  <td>{c.secret_kind ?? '—'}</td>
                  <td>{c.last_outcome ?? '—'}</td>
                  <td>{c.decky}</td>
                  <td>{c.service}</td>
                  <td className="num">{c.attempt_count ?? '—'}</td>
                  <td className="nowrap">
                    <Time ts={c.last_seen ?? c.first_seen} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="sessions-title">
        <h2 id="sessions-title">Sessions ({sessions.length})</h2>
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Sessions">
          <table>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Decky</th>
                <th scope="col">Service</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">Events</th>
                <th scope="col">Recording</th>
              </tr>
            </thead>
            <tbody>
              {sessions.length === 0 ? (
                <tr>
                  <td colSpan={7} className="muted">
                    None.
                  </td>
                </tr>
              ) : null}
              {sessions.map((s) => (
                <tr key={s.sid}>
                  <td className="mono">{s.sid}</td>
                  <td>{s.decky}</td>
                  <td>{s.service}</td>
                  <td className="nowrap">
                    <Time ts={s.started_at} />
                  </td>
                  <td>{duration(s.started_at, s.ended_at)}</td>
                  <td className="num">{s.event_count ?? '—'}</td>
                  <td>
                    {isRecorded(s) ? (
                      <Link to={`/sessions/${encodeURIComponent(s.sid)}`} aria-label={`Replay session ${s.sid}`}>
                        Replay
                      </Link>
                    ) : (
                      <span className="muted">none</span>
                    )}
                    {s.transcript_bytes ? <span className="muted"> ({formatBytes(s.transcript_bytes)})</span> : null}
                    {s.truncated ? <span className="muted"> truncated</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="artifacts-title">
        <h2 id="artifacts-title">Artifacts ({artifacts.length})</h2>
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Artifacts">
          <table>
            <thead>
              <tr>
                <th scope="col">sha256</th>
                <th scope="col">Size</th>
                <th scope="col">Path on the decky</th>
                <th scope="col">Decky</th>
                <th scope="col">Service</th>
                <th scope="col">Captures</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {artifacts.length === 0 ? (
                <tr>
                  <td colSpan={7} className="muted">
                    None.
                  </td>
                </tr>
              ) : null}
              {artifacts.map((a, i) => (
                <tr key={a.id ?? `${a.sha256}-${i}`}>
                  <td className="mono hash">{a.sha256}</td>
                  <td className="num">{a.size != null ? formatBytes(a.size) : '—'}</td>
                  <td className="mono">{a.origin || '—'}</td>
                  <td>{a.decky}</td>
                  <td>{a.service ?? '—'}</td>
                  <td className="num">{a.seen_count ?? '—'}</td>
                  <td className="nowrap">
                    <Time ts={a.last_seen ?? a.first_seen} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline ({events.length} events)</h2>
        <EventTable events={events} caption="Events of this attacker across deckies and services, newest first" />
      </section>
    </>
  );
}
