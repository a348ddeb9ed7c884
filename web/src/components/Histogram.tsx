// Event counts over time, drawn with uPlot (bars), plus a text summary for
// screen readers (the canvas itself is an image to them).

import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { HistogramBucket } from '../api/types';
import { histogramSummary } from './histogramSummary';

export function Histogram({ buckets, height = 160 }: { buckets: HistogramBucket[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  const data = useMemo<uPlot.AlignedData>(() => {
    const xs = buckets.map((b) => new Date(b.start).getTime() / 1000);
    const ys = buckets.map((b) => b.count);
    return [xs, ys];
  }, [buckets]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const style = getComputedStyle(document.documentElement);
    const accent = style.getPropertyValue('--accent').trim() || '#4fb3ff';
    const axis = style.getPropertyValue('--fg-muted').trim() || '#9aa4b2';
    const grid = style.getPropertyValue('--border').trim() || '#2a3140';
    const axisStyle = { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 300),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [axisStyle, { ...axisStyle, size: 50 }],
      series: [
        {},
        {
          label: 'events',
          stroke: accent,
          fill: accent + '99',
          width: 1,
          paths: uPlot.paths.bars?.({ size: [0.9, 60] }),
          points: { show: false },
        },
      ],
    };
    const p = new uPlot(opts, data, el);
    plot.current = p;
    const resize = new ResizeObserver(() => p.setSize({ width: Math.max(el.clientWidth, 300), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      p.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its height changes; data updates go through setData.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const summary = histogramSummary(buckets);
  return (
    <figure className="histogram">
      <div ref={box} role="img" aria-label={`Events over time. ${summary}`} data-testid="histogram" />
      <figcaption className="muted">{summary}</figcaption>
    </figure>
  );
}
