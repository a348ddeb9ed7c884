import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStream, streamUrl } from './stream';
import { toEvent } from './events';

class FakeEventSource extends EventTarget {
  static instances: FakeEventSource[] = [];
  readonly url: string;
  closed = false;
  onopen: ((ev: Event) => void) | null = null;
  constructor(url: string) {
    super();
    this.url = url;
    FakeEventSource.instances.push(this);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.(new Event('open'));
  }
  emit(name: string, data: unknown, id = '') {
    this.dispatchEvent(new MessageEvent(name, { data: JSON.stringify(data), lastEventId: id }));
  }
  fail() {
    this.dispatchEvent(new Event('error'));
  }
}

const ev = {
  id: '0190-1',
  ts: '2026-01-01T00:00:00Z',
  host: 'local',
  decky: 'd1',
  service: 'ssh',
  event_type: 'login_attempt',
  src_ip: '203.0.113.7',
  fields: { principal: 'root' },
};

beforeEach(() => {
  vi.useFakeTimers();
  FakeEventSource.instances = [];
});
afterEach(() => vi.useRealTimers());

describe('openStream', () => {
  it('puts only the ticket in the URL', () => {
    expect(streamUrl('/stream', 'tk/1')).toBe('/api/v1/stream?ticket=tk%2F1');
    expect(streamUrl('/x?a=1', 't')).toBe('/api/v1/x?a=1&ticket=t');
  });

  it('opens with a fresh ticket, delivers frames and reconnects with a new ticket', async () => {
    let n = 0;
    const getTicket = vi.fn(async () => `ticket-${++n}`);
    const onMessage = vi.fn();
    const states: string[] = [];
    const close = openStream(
      { route: '/stream', getTicket, eventSourceImpl: FakeEventSource as unknown as typeof EventSource, backoff: [100] },
      { onMessage, onState: (s) => states.push(s) },
    );
    await vi.runAllTicks();
    await Promise.resolve();
    const first = FakeEventSource.instances[0];
    expect(first?.url).toBe('/api/v1/stream?ticket=ticket-1');
    expect(first?.url).not.toMatch(/token|jwt|Bearer/i);
    first?.open();
    first?.emit('message', ev, '0190-1');
    first?.emit('event', { type: 'event', data: ev });
    expect(onMessage).toHaveBeenCalledTimes(2);
    expect(onMessage.mock.calls[0]?.[1]).toBe('0190-1');

    first?.fail();
    expect(first?.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(150);
    const second = FakeEventSource.instances[1];
    expect(second?.url).toBe('/api/v1/stream?ticket=ticket-2');
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'reconnecting']);

    close();
    expect(second?.closed).toBe(true);
    second?.fail();
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeEventSource.instances).toHaveLength(2);
  });

  it('reports a server error frame', async () => {
    const onServerError = vi.fn();
    const close = openStream(
      { route: '/stream', getTicket: async () => 't', eventSourceImpl: FakeEventSource as unknown as typeof EventSource },
      { onMessage: vi.fn(), onServerError },
    );
    await Promise.resolve();
    await Promise.resolve();
    FakeEventSource.instances[0]?.dispatchEvent(
      new MessageEvent('error', { data: JSON.stringify({ error: { code: 'internal', message: 'database unavailable' } }) }),
    );
    expect(onServerError).toHaveBeenCalledWith('database unavailable');
    close();
  });

  it('retries when no ticket can be had', async () => {
    const getTicket = vi.fn().mockRejectedValueOnce(new Error('forbidden')).mockResolvedValue('t2');
    const onServerError = vi.fn();
    const close = openStream(
      { route: '/stream', getTicket, eventSourceImpl: FakeEventSource as unknown as typeof EventSource, backoff: [50] },
      { onMessage: vi.fn(), onServerError },
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(onServerError).toHaveBeenCalledWith('forbidden');
    expect(FakeEventSource.instances[0]?.url).toBe('/api/v1/stream?ticket=t2');
    close();
  });
});

describe('toEvent', () => {
  it('accepts bare events and envelopes', () => {
    expect(toEvent(ev)?.id).toBe('0190-1');
    expect(toEvent({ type: 'event', data: ev })?.id).toBe('0190-1');
    expect(toEvent({ topic: 't', payload: ev })?.id).toBe('0190-1');
    expect(toEvent({ type: 'stats', data: { total: 1 } })).toBeNull();
    expect(toEvent(null)).toBeNull();
  });
  it('stringifies non-string field values', () => {
    expect(toEvent({ ...ev, fields: { n: 3, o: { a: 1 } } })?.fields).toEqual({ n: '3', o: '{"a":1}' });
  });
});
