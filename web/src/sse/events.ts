// Decoding of the data frames of `GET /stream` into events.

import type { DecnetEvent } from '../api/types';

function isEvent(value: unknown): value is DecnetEvent {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    typeof v.ts === 'string' &&
    typeof v.decky === 'string' &&
    typeof v.service === 'string' &&
    typeof v.event_type === 'string' &&
    typeof v.src_ip === 'string'
  );
}

/**
 * The event carried by a stream frame: either the event itself, or an envelope
 * `{type, data}` / `{topic, payload}` around it. Anything else is ignored.
 */
export function toEvent(frame: unknown): DecnetEvent | null {
  if (isEvent(frame)) return normalise(frame);
  if (frame && typeof frame === 'object') {
    const f = frame as Record<string, unknown>;
    for (const inner of [f.data, f.payload, f.event]) {
      if (isEvent(inner)) return normalise(inner);
    }
  }
  return null;
}

function normalise(e: DecnetEvent): DecnetEvent {
  const fields: Record<string, string> = {};
  if (e.fields && typeof e.fields === 'object') {
    for (const [k, v] of Object.entries(e.fields as Record<string, unknown>)) {
      fields[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  return { ...e, fields };
}
