// A timestamp shown in the viewer's local time, machine-readable in dateTime.

export function formatTime(ts: string | null | undefined): string {
  if (!ts) return '—';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

export function Time({ ts }: { ts: string | null | undefined }) {
  if (!ts) return <span aria-label="never">—</span>;
  return <time dateTime={ts}>{formatTime(ts)}</time>;
}
