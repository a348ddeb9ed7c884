// Live events: the latest stored events, then the SSE stream on top, filtered
// in the search syntax; pause/resume; a histogram of the time range.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { useApi } from '../auth/AuthContext';
import type { DecnetEvent } from '../api/types';
import { errorMessage, useQuery } from '../api/useQuery';
import { parseSearch, addFilter, validateSearch, matchesEvent, MAX_SEARCH_LENGTH } from '../search/syntax';
import type { Term } from '../search/syntax';
import { useStream } from '../sse/useStream';
import { toEvent } from '../sse/events';
import { EventTable } from '../components/EventTable';
import { ErrorMessage } from '../components/ErrorMessage';
import { Histogram } from '../components/Histogram';
import { StateBadge } from '../components/StateBadge';

const MAX_ROWS = 500;
const PAGE = 200;
const HISTOGRAM_REFRESH_MS = 2000;

export const RANGES: { value: string; label: string; seconds: number }[] = [
  { value: '15m', label: 'Last 15 minutes', seconds: 15 * 60 },
  { value: '1h', label: 'Last hour', seconds: 3600 },
  { value: '24h', label: 'Last 24 hours', seconds: 86400 },
  { value: '7d', label: 'Last 7 days', seconds: 7 * 86400 },
];

function sinceFor(range: string): string {
  const seconds = RANGES.find((r) => r.value === range)?.seconds ?? 3600;
  return new Date(Date.now() - seconds * 1000).toISOString();
}

/** Merges newer events on top of a list, newest first, without duplicates, capped. */
export function mergeEvents(current: DecnetEvent[], incoming: DecnetEvent[], max = MAX_ROWS): DecnetEvent[] {
  const seen = new Set<string>();
  const out: DecnetEvent[] = [];
  for (const e of [...incoming, ...current]) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(e);
  }
  out.sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0));
  return out.slice(0, max);
}

export function Events() {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const query = params.get('q') ?? '';
  const range = params.get('range') ?? '1h';
  const [draft, setDraft] = useState(query);
  const [draftError, setDraftError] = useState<string | null>(null);
  const [events, setEvents] = useState<DecnetEvent[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [paused, setPaused] = useState(false);
  const [buffered, setBuffered] = useState<DecnetEvent[]>([]);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    document.title = 'Live events · DECNET';
  }, []);
  useEffect(() => setDraft(query), [query]);

  const parsed = useMemo<Term[] | null>(() => {
    try {
      return parseSearch(query);
    } catch {
      return null;
    }
  }, [query]);

  // The stored events of the range, newest first.
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setLoadError(null);
    setBuffered([]);
    api
      .events({ search: query || undefined, since: sinceFor(range), limit: PAGE }, controller.signal)
      .then((page) => {
        setEvents(page.items);
        setCursor(page.next_cursor ?? null);
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setLoadError(errorMessage(e));
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [api, query, range]);

  const histogram = useQuery(
    `hist:${query}:${range}`,
    (signal) => api.histogram({ search: query || undefined, since: sinceFor(range) }, signal),
    15000,
  );

  // Live events also redraw the histogram, at most once per HISTOGRAM_REFRESH_MS.
  const reloadHistogram = histogram.reload;
  const histogramTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const refreshHistogramSoon = useCallback(() => {
    if (histogramTimer.current) return;
    histogramTimer.current = setTimeout(() => {
      histogramTimer.current = null;
      reloadHistogram();
    }, HISTOGRAM_REFRESH_MS);
  }, [reloadHistogram]);
  useEffect(
    () => () => {
      if (histogramTimer.current) clearTimeout(histogramTimer.current);
    },
    [],
  );

  const onLive = useCallback(
    (data: unknown) => {
      const event = toEvent(data);
      if (!event || !parsed || !matchesEvent(parsed, event)) return;
      if (pausedRef.current) setBuffered((b) => [event, ...b].slice(0, MAX_ROWS));
      else {
        setEvents((cur) => mergeEvents(cur, [event]));
        refreshHistogramSoon();
      }
    },
    [parsed, refreshHistogramSoon],
  );
  const stream = useStream<unknown>('/stream', onLive);

  // A reconnect uses a new ticket and so cannot resume by Last-Event-ID: fetch what it missed.
  const newest = useRef<string | null>(null);
  newest.current = events[0]?.ts ?? null;
  useEffect(() => {
    if (stream.opens < 2 || !newest.current) return;
    const controller = new AbortController();
    api
      .events({ search: query || undefined, since: newest.current, limit: PAGE }, controller.signal)
      .then((page) => {
        if (pausedRef.current) setBuffered((b) => mergeEvents(b, page.items));
        else setEvents((cur) => mergeEvents(cur, page.items));
      })
      .catch(() => {
        /* the next reconnect tries again */
      });
    return () => controller.abort();
    // Only a new opening of the stream triggers a backfill.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stream.opens]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const problem = validateSearch(draft);
    setDraftError(problem);
    if (problem) return;
    const next = new URLSearchParams(params);
    if (draft.trim()) next.set('q', draft.trim());
    else next.delete('q');
    setParams(next);
  };

  const filterOn = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    next.set('q', addFilter(query, key, value));
    setParams(next);
  };

  const resume = () => {
    setEvents((cur) => mergeEvents(cur, buffered));
    setBuffered([]);
    setPaused(false);
  };

  const loadOlder = async () => {
    if (!cursor) return;
    try {
      const page = await api.events({ search: query || undefined, since: sinceFor(range), cursor, limit: PAGE });
      setEvents((cur) => mergeEvents(cur, page.items, cur.length + page.items.length));
      setCursor(page.next_cursor ?? null);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  };

  const streamState = paused ? 'paused' : stream.state;
  return (
    <>
      <h1>Live events</h1>
      <form className="toolbar" role="search" onSubmit={apply} aria-label="Filter events">
        <label htmlFor="event-search">Search</label>
        <input
          id="event-search"
          type="search"
          className="grow mono"
          maxLength={MAX_SEARCH_LENGTH}
          placeholder='service:ssh event:login_attempt attacker:203.0.113.0/24 principal:root "bare words"'
          aria-describedby="event-search-help"
          aria-invalid={draftError ? true : undefined}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <label htmlFor="event-range">Range</label>
        <select
          id="event-range"
          value={range}
          onChange={(e) => {
            const next = new URLSearchParams(params);
            next.set('range', e.target.value);
            setParams(next);
          }}
        >
          {RANGES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
        <button type="submit" className="primary">
          Apply
        </button>
        {paused ? (
          <button type="button" onClick={resume} aria-pressed="true">
            Resume{buffered.length ? ` (${buffered.length} new)` : ''}
          </button>
        ) : (
          <button type="button" onClick={() => setPaused(true)} aria-pressed="false">
            Pause
          </button>
        )}
        <span role="status" aria-live="polite" className="stream-state">
          Stream: <StateBadge state={streamState} />
        </span>
      </form>
      <p id="event-search-help" className="muted small">
        <code>decky:</code>, <code>service:</code>, <code>event:</code>, <code>host:</code>, <code>session:</code> match
        columns; <code>attacker:</code> takes an address or a CIDR block; any other <code>key:value</code> matches a field;
        bare words match the message and fields. All terms must match. Quote values with spaces:{' '}
        <code>principal:&quot;a b&quot;</code>.
      </p>
      <ErrorMessage message={draftError} />
      <ErrorMessage message={stream.serverError} />
      <ErrorMessage message={histogram.error} />
      <Histogram buckets={histogram.data?.buckets ?? []} />
      <ErrorMessage message={loadError} />
      {loading && events.length === 0 ? <p role="status">Loading events…</p> : null}
      <EventTable events={events} caption="Events, newest first" onFilter={filterOn} emptyText="No events match." />
      {cursor ? (
        <button type="button" onClick={() => void loadOlder()}>
          Load older events
        </button>
      ) : null}
    </>
  );
}
