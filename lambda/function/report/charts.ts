import type { ItemOutcome } from '../contracts/result.js';
import { escapeHtml as e } from './html.js';

const WIDTH = 900;
const GUTTER = 56;
const PLOT = WIDTH - GUTTER - 10;

/** When an item's last step ended, in ms from its run's start (0 when it never started). */
const endOf = (item: ItemOutcome): number =>
  item.ok ? (item.storedMs ?? 0) : item.startMs === undefined ? 0 : item.startMs + item.latencyMs;

function ticks(extent: number, x: (ms: number) => number, y: number): string {
  return Array.from({ length: 6 }, (_, i) => (extent * i) / 5)
    .map((ms, i) => {
      const anchor = i === 0 ? 'start' : i === 5 ? 'end' : 'middle';
      return `<text x="${x(ms).toFixed(1)}" y="${y}" text-anchor="${anchor}">${Math.round(ms)} ms</text>`;
    })
    .join('');
}

/**
 * One row per item: waiting for a slot (from the run's start), downloading, writing (a failed item:
 * its time until it failed), a red mark per retry; above them the requests in flight over time,
 * with the concurrency limit drawn across.
 */
export function waterfallSvg(items: readonly ItemOutcome[], concurrency: number): string {
  const extent = Math.max(1, ...items.map(endOf));
  const x = (ms: number) => GUTTER + (ms / extent) * PLOT;
  const rowHeight = items.length <= 100 ? 12 : items.length <= 500 ? 4 : 2;
  const strip = 70;
  const top = strip + 20;
  const height = top + items.length * rowHeight + 24;
  const bar = (from: number, to: number, y: number, fill: string) =>
    to > from
      ? `<rect x="${x(from).toFixed(1)}" y="${y}" width="${Math.max(0.5, x(to) - x(from)).toFixed(1)}" height="${Math.max(1, rowHeight - 1)}" fill="${fill}"/>`
      : '';
  const rows = items
    .map((item, row) => {
      const y = top + row * rowHeight;
      const start = item.startMs;
      const title = `<title>item ${item.index}: ${item.ok ? 'stored' : e(item.reason)}, ${item.latencyMs} ms, ${item.attempts} attempt(s)${item.ok && item.copyOf !== undefined ? `, copy of ${item.copyOf}` : ''}</title>`;
      let bars = '';
      if (start !== undefined) {
        bars += bar(0, start, y, '#d9dce3');
        if (item.ok) {
          const downloaded = item.downloadedMs ?? start;
          bars += bar(start, downloaded, y, '#5b8def') + bar(downloaded, item.storedMs ?? downloaded, y, '#2fb380');
        } else {
          bars += bar(start, start + item.latencyMs, y, '#e0474c');
        }
      }
      const retries = (item.retries ?? [])
        .map(
          (_, n) =>
            `<rect x="${(x(endOf(item)) + 2 + n * 3).toFixed(1)}" y="${y}" width="2" height="${Math.max(1, rowHeight - 1)}" fill="#e0474c"/>`,
        )
        .join('');
      const label =
        rowHeight >= 12
          ? `<text x="${GUTTER - 4}" y="${y + rowHeight - 2}" text-anchor="end">${item.index}</text>`
          : '';
      return `<g class="row" data-index="${item.index}">${title}${label}${bars}${retries}</g>`;
    })
    .join('');
  // In flight: at each of 200 moments, the items between their start and their end.
  const moments = 200;
  const counts = Array.from({ length: moments + 1 }, (_, i) => {
    const at = (extent * i) / moments;
    return items.filter((item) => item.startMs !== undefined && item.startMs <= at && endOf(item) > at).length;
  });
  const most = Math.max(concurrency, ...counts, 1);
  const yOf = (n: number) => strip - (n / most) * (strip - 12);
  const line = counts.map((n, i) => `${x((extent * i) / moments).toFixed(1)},${yOf(n).toFixed(1)}`).join(' ');
  return `<svg class="waterfall" role="img" aria-label="Waterfall of ${items.length} items over ${Math.round(extent)} ms, concurrency limit ${concurrency}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}">
<text x="${GUTTER - 4}" y="${yOf(most) + 4}" text-anchor="end">${most}</text><text x="${GUTTER - 4}" y="${strip}" text-anchor="end">0</text>
<line class="limit" x1="${GUTTER}" x2="${GUTTER + PLOT}" y1="${yOf(concurrency).toFixed(1)}" y2="${yOf(concurrency).toFixed(1)}" stroke="#e0474c" stroke-dasharray="4 3"/>
<text x="${GUTTER + PLOT}" y="${(yOf(concurrency) - 3).toFixed(1)}" text-anchor="end" fill="#e0474c">concurrency limit ${concurrency}</text>
<polyline class="in-flight" points="${line}" fill="none" stroke="#3d5a99"/>
<text x="${GUTTER}" y="10">requests in flight</text>
${rows}
${ticks(extent, x, height - 6)}
</svg>`;
}

/** Item latency in 20 bins from 0 to the slowest item, with the count over each bar. */
export function histogramSvg(latencies: readonly number[]): string {
  const bins = 20;
  const slowest = Math.max(1, ...latencies);
  const counts = Array.from({ length: bins }, () => 0);
  for (const ms of latencies) {
    const bin = Math.min(bins - 1, Math.floor((ms / slowest) * bins));
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  const tallest = Math.max(1, ...counts);
  const height = 160;
  const width = PLOT / bins;
  const bars = counts
    .map((count, i) => {
      const h = (count / tallest) * (height - 40);
      const left = GUTTER + i * width;
      return `<g class="bin"><rect x="${left.toFixed(1)}" y="${(height - 20 - h).toFixed(1)}" width="${(width - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="#5b8def"><title>${Math.round((i * slowest) / bins)}-${Math.round(((i + 1) * slowest) / bins)} ms: ${count}</title></rect>${count ? `<text x="${(left + width / 2).toFixed(1)}" y="${(height - 24 - h).toFixed(1)}" text-anchor="middle">${count}</text>` : ''}</g>`;
    })
    .join('');
  return `<svg class="histogram" role="img" aria-label="Item latency from 0 to ${slowest} ms, ${latencies.length} items" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}">${bars}${ticks(slowest, (ms) => GUTTER + (ms / slowest) * PLOT, height - 4)}</svg>`;
}
