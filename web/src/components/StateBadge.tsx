// A coloured state label; the text itself carries the meaning (not only the colour).

const TONES: Record<string, string> = {
  running: 'ok',
  connected: 'ok',
  online: 'ok',
  open: 'ok',
  dispatched: 'warn',
  not_connected: 'warn',
  enrolled: 'warn',
  tearing_down: 'warn',
  torn_down: 'muted',
  up: 'ok',
  succeeded: 'ok',
  ok: 'ok',
  degraded: 'warn',
  pending: 'warn',
  deploying: 'warn',
  applying: 'warn',
  starting: 'warn',
  reconnecting: 'warn',
  connecting: 'warn',
  failed: 'bad',
  error: 'bad',
  disconnected: 'bad',
  offline: 'bad',
  down: 'bad',
  revoked: 'muted',
  stopped: 'muted',
  closed: 'muted',
  paused: 'muted',
};

export function StateBadge({ state, label }: { state: string | null | undefined; label?: string }) {
  const s = (state ?? 'unknown').toLowerCase();
  const tone = TONES[s] ?? 'muted';
  return (
    <span className={`badge badge-${tone}`} title={label}>
      {s}
    </span>
  );
}
