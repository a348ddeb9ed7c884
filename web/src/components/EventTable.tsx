// A table of events. Every value is attacker-controlled and is rendered as text.

import { Link } from 'react-router';
import type { DecnetEvent } from '../api/types';
import { Time } from './Time';

export interface EventTableProps {
  events: DecnetEvent[];
  caption: string;
  /** When given, decky/service/event/source cells offer "filter on this value". */
  onFilter?: (key: string, value: string) => void;
  emptyText?: string;
}

function FilterValue({
  k,
  value,
  onFilter,
}: {
  k: string;
  value: string;
  onFilter: ((key: string, value: string) => void) | undefined;
}) {
  if (!onFilter || !value) return <>{value}</>;
  return (
    <button type="button" className="link" title={`Filter on ${k}:${value}`} onClick={() => onFilter(k, value)}>
      {value}
    </button>
  );
}

function Fields({ event }: { event: DecnetEvent }) {
  const entries = Object.entries(event.fields ?? {});
  return (
    <span className="fields">
      {event.msg ? <span className="msg">{event.msg}</span> : null}
      {entries.map(([k, v]) => (
        <span key={k} className="field">
          <span className="field-key">{k}</span>=<span className="field-value">{v}</span>
        </span>
      ))}
    </span>
  );
}

export function EventTable({ events, caption, onFilter, emptyText = 'No events.' }: EventTableProps) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={caption}>
      <table className="events">
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Decky</th>
            <th scope="col">Service</th>
            <th scope="col">Event</th>
            <th scope="col">Source</th>
            <th scope="col">Session</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {events.length === 0 ? (
            <tr>
              <td colSpan={7} className="muted">
                {emptyText}
              </td>
            </tr>
          ) : (
            events.map((e) => (
              <tr key={e.id} data-event-id={e.id}>
                <td className="nowrap">
                  <Time ts={e.ts} />
                </td>
                <td>
                  <FilterValue k="decky" value={e.decky} onFilter={onFilter} />
                </td>
                <td>
                  <FilterValue k="service" value={e.service} onFilter={onFilter} />
                </td>
                <td>
                  <FilterValue k="event" value={e.event_type} onFilter={onFilter} />
                </td>
                <td className="nowrap">
                  <FilterValue k="attacker" value={e.src_ip} onFilter={onFilter} />
                  {e.src_port != null ? <span className="muted">:{e.src_port}</span> : null}
                </td>
                <td>
                  {e.session_id ? (
                    <Link to={`/sessions/${encodeURIComponent(e.session_id)}`} title="Replay this session">
                      {e.session_id.slice(0, 8)}
                    </Link>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td>
                  <Fields event={e} />
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
