// Live streams over Server-Sent Events.
//
// EventSource cannot send an Authorization header, and a JWT must never travel
// in a query string, so each connection first asks for a single-use 60-second
// ticket (POST /auth/sse-ticket) and opens `…/stream?ticket=…`. A ticket is
// spent by its connection: on any error the stream is closed and reopened with
// a fresh ticket after a back-off, instead of EventSource's own reconnect.

import { API_BASE } from '../api/client';

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StreamHandlers<T> {
  /** One decoded data frame. */
  onMessage: (data: T, id: string) => void;
  onState?: (state: StreamState) => void;
  /** An `event: error` frame from the server, or a failure to get a ticket. */
  onServerError?: (message: string) => void;
}

export interface StreamOptions {
  /** API route of the stream, e.g. `/stream` or `/attackers/ID/stream`. */
  route: string;
  getTicket: () => Promise<string>;
  /** Names of the SSE events that carry data (default: message and event). */
  eventNames?: string[];
  eventSourceImpl?: typeof EventSource;
  /** Back-off delays in ms; the last one repeats. */
  backoff?: number[];
}

const DEFAULT_BACKOFF = [500, 1000, 2000, 5000, 10000, 15000];

/** Builds the stream URL; only the opaque ticket goes into the query. */
export function streamUrl(route: string, ticket: string): string {
  const sep = route.includes('?') ? '&' : '?';
  return `${API_BASE}${route}${sep}ticket=${encodeURIComponent(ticket)}`;
}

/** Opens a stream; returns a function that closes it for good. */
export function openStream<T>(options: StreamOptions, handlers: StreamHandlers<T>): () => void {
  const Impl = options.eventSourceImpl ?? EventSource;
  const eventNames = options.eventNames ?? ['message', 'event'];
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  let source: EventSource | null = null;
  let closed = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const setState = (s: StreamState) => handlers.onState?.(s);

  const scheduleReconnect = () => {
    if (closed) return;
    source?.close();
    source = null;
    setState('reconnecting');
    const delay = backoff[Math.min(attempt, backoff.length - 1)] ?? 15000;
    attempt++;
    timer = setTimeout(connect, delay);
  };

  const onData = (ev: MessageEvent) => {
    attempt = 0;
    let parsed: T;
    try {
      parsed = JSON.parse(String(ev.data)) as T;
    } catch {
      return; // not ours to render
    }
    handlers.onMessage(parsed, ev.lastEventId);
  };

  async function connect() {
    timer = null;
    if (closed) return;
    setState(attempt === 0 ? 'connecting' : 'reconnecting');
    let ticket: string;
    try {
      ticket = await options.getTicket();
    } catch (e) {
      handlers.onServerError?.(e instanceof Error ? e.message : 'cannot get a stream ticket');
      scheduleReconnect();
      return;
    }
    if (closed) return;
    const es = new Impl(streamUrl(options.route, ticket));
    source = es;
    es.onopen = () => {
      attempt = 0;
      setState('open');
    };
    for (const name of eventNames) es.addEventListener(name, onData as EventListener);
    es.addEventListener('error', (ev: Event) => {
      if (es !== source) return;
      // A server-sent `event: error` carries data; a transport error does not.
      if (ev instanceof MessageEvent && typeof ev.data === 'string') {
        let message = 'the live stream reported an error';
        try {
          const body = JSON.parse(ev.data) as { message?: unknown; error?: { message?: unknown } };
          const m = body.message ?? body.error?.message;
          if (typeof m === 'string') message = m;
        } catch {
          /* keep the generic message */
        }
        handlers.onServerError?.(message);
      }
      scheduleReconnect();
    });
  }

  void connect();

  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    source?.close();
    source = null;
    setState('closed');
  };
}
