import type { HistogramBucket } from '../api/types';
import { formatTime } from './Time';

/** A text account of a histogram, for screen readers and as the chart's caption. */
export function histogramSummary(buckets: HistogramBucket[]): string {
  if (buckets.length === 0) return 'No events in this time range.';
  const total = buckets.reduce((n, b) => n + b.count, 0);
  let peak = buckets[0] as HistogramBucket;
  for (const b of buckets) if (b.count > peak.count) peak = b;
  const first = buckets[0] as HistogramBucket;
  const last = buckets[buckets.length - 1] as HistogramBucket;
  return (
    `${total} events from ${formatTime(first.start)} to ${formatTime(last.start)}` +
    ` in ${buckets.length} intervals; busiest interval ${formatTime(peak.start)} with ${peak.count}.`
  );
}
