// Attackers: one row per source IP, most recent or most active first.

import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { useApi } from '../auth/AuthContext';
import type { AttackerSummary } from '../api/types';
import { errorMessage } from '../api/useQuery';
import { ErrorMessage } from '../components/ErrorMessage';
import { Time } from '../components/Time';

const PAGE = 50;

export function Attackers() {
  const api = useApi();
  const [sort, setSort] = useState<'recent' | 'active'>('recent');
  const [rows, setRows] = useState<AttackerSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    document.title = 'Attackers · DECNET';
  }, []);

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    api
      .attackers({ sort, limit: PAGE })
      .then((page) => {
        if (cancelled) return;
        setRows(page.items);
        setCursor(page.next_cursor ?? null);
        setError(null);
      })
      .catch((e: unknown) => !cancelled && setError(errorMessage(e)))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [api, sort, tick]);

  const more = async () => {
    if (!cursor) return;
    try {
      const page = await api.attackers({ sort, limit: PAGE, cursor });
      setRows((r) => [...r, ...page.items]);
      setCursor(page.next_cursor ?? null);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <>
      <h1>Attackers</h1>
      <div className="toolbar">
        <label htmlFor="attacker-sort">Sort by</label>
        <select id="attacker-sort" value={sort} onChange={(e) => setSort(e.target.value as 'recent' | 'active')}>
          <option value="recent">Most recent</option>
          <option value="active">Most active</option>
        </select>
        <button type="button" onClick={() => setTick((t) => t + 1)}>
          Refresh
        </button>
      </div>
      <ErrorMessage message={error} />
      {loading && rows.length === 0 ? <p role="status">Loading attackers…</p> : null}
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Attackers">
        <table>
          <thead>
            <tr>
              <th scope="col">Source IP</th>
              <th scope="col">First seen</th>
              <th scope="col">Last seen</th>
              <th scope="col">Events</th>
              <th scope="col">Services</th>
              <th scope="col">Deckies</th>
              <th scope="col">Credentials</th>
              <th scope="col">Sessions</th>
            </tr>
          </thead>
          <tbody>
            {!loading && rows.length === 0 ? (
              <tr>
                <td colSpan={8} className="muted">
                  No attackers yet.
                </td>
              </tr>
            ) : null}
            {rows.map((a) => (
              <tr key={a.id}>
                <th scope="row">
                  <Link to={`/attackers/${encodeURIComponent(a.id)}`}>{a.ip}</Link>
                </th>
                <td className="nowrap">
                  <Time ts={a.first_seen} />
                </td>
                <td className="nowrap">
                  <Time ts={a.last_seen} />
                </td>
                <td className="num">{a.event_count}</td>
                <td>{a.services.join(', ')}</td>
                <td>{a.deckies.join(', ')}</td>
                <td className="num">{a.credential_count ?? '—'}</td>
                <td className="num">{a.session_count ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cursor ? (
        <button type="button" onClick={() => void more()}>
          Load more
        </button>
      ) : null}
    </>
  );
}
