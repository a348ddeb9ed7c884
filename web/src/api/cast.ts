// Reading asciicast v2 recordings (as served by GET /sessions/{sid}/cast).

export interface CastInfo {
  width: number;
  height: number;
  timestamp?: number;
  title?: string;
  events: number;
  duration: number;
}

/** Reads the header and counts the events of an asciicast v2 recording. */
export function castInfo(text: string): CastInfo {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const first = lines[0];
  if (!first) throw new Error('the recording is empty');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(first) as Record<string, unknown>;
  } catch {
    throw new Error('the recording has no asciicast header');
  }
  if (header.version !== 2) throw new Error('the recording is not asciicast v2');
  let duration = 0;
  let events = 0;
  for (const line of lines.slice(1)) {
    try {
      const ev = JSON.parse(line) as unknown;
      if (Array.isArray(ev) && typeof ev[0] === 'number') {
        events++;
        duration = Math.max(duration, ev[0]);
      }
    } catch {
      /* a torn line (truncation marker) is skipped */
    }
  }
  const info: CastInfo = {
    width: typeof header.width === 'number' ? header.width : 80,
    height: typeof header.height === 'number' ? header.height : 24,
    events,
    duration,
  };
  if (typeof header.timestamp === 'number') info.timestamp = header.timestamp;
  if (typeof header.title === 'string') info.title = header.title;
  return info;
}
