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

/** A phase of an item in ms from its run's start: [from, to), or undefined when it never had it. */
type Phase = (item: ItemOutcome) => [number, number] | undefined;

/** Downloading holds a download slot: from the first attempt until the body is whole (or the item gave up). */
const downloading: Phase = (item) => {
  if (item.startMs === undefined) return undefined;
  return [item.startMs, item.ok ? (item.downloadedMs ?? item.startMs) : item.startMs + item.latencyMs];
};

/** Writing: from the whole body until S3 has it (stored items). */
const writing: Phase = (item) =>
  item.ok && item.downloadedMs !== undefined && item.storedMs !== undefined
    ? [item.downloadedMs, item.storedMs]
    : undefined;

/**
 * How many items were in `phase` at each of 200 moments, drawn as a line over `height` pixels from
 * `top`, against `limit` drawn across (the most a run lets into that phase at once).
 */
function inFlightStrip(
  items: readonly ItemOutcome[],
  phase: Phase,
  at: { extent: number; x: (ms: number) => number; top: number; height: number },
  labels: { name: string; className: string; limit: number; limitText: string },
): string {
  const moments = 200;
  const spans = items.flatMap((item) => {
    const span = phase(item);
    return span ? [span] : [];
  });
  const counts = Array.from({ length: moments + 1 }, (_, i) => {
    const when = (at.extent * i) / moments;
    return spans.filter(([from, to]) => from <= when && to > when).length;
  });
  const most = Math.max(labels.limit, ...counts, 1);
  const bottom = at.top + at.height;
  const yOf = (n: number) => bottom - (n / most) * (at.height - 12);
  const line = counts.map((n, i) => `${at.x((at.extent * i) / moments).toFixed(1)},${yOf(n).toFixed(1)}`).join(' ');
  const limitY = yOf(labels.limit).toFixed(1);
  return `<g class="${labels.className}" data-limit="${labels.limit}" data-most="${Math.max(...counts)}">
<text x="${GUTTER - 4}" y="${yOf(most) + 4}" text-anchor="end">${most}</text><text x="${GUTTER - 4}" y="${bottom}" text-anchor="end">0</text>
<line class="limit" x1="${GUTTER}" x2="${GUTTER + PLOT}" y1="${limitY}" y2="${limitY}" stroke="#e0474c" stroke-dasharray="4 3"/>
<text x="${GUTTER + PLOT}" y="${(yOf(labels.limit) - 3).toFixed(1)}" text-anchor="end" fill="#e0474c">${e(labels.limitText)}</text>
<polyline class="in-flight" points="${line}" fill="none" stroke="#3d5a99"/>
<text x="${GUTTER}" y="${at.top + 10}">${e(labels.name)}</text>
</g>`;
}

/**
 * One row per item of one run: waiting for a slot (from the run's start), downloading, writing (a
 * failed item: its time until it failed), a red mark per retry. Above them, downloads in flight
 * against the run's concurrency, and writes in flight against its upload slots (as many: a body
 * takes one once its headers are in and keeps it until S3 has it), each on its own scale. The
 * counts are of `inFlight` (every item of the run) where `items` are a sample of them.
 */
export function waterfallSvg(
  items: readonly ItemOutcome[],
  concurrency: number,
  inFlight: readonly ItemOutcome[] = items,
): string {
  // (A loop, not Math.max(...): a run may have 100,000 items, too many arguments for one call.)
  const extent = inFlight.reduce((most, item) => Math.max(most, endOf(item)), 1);
  const x = (ms: number) => GUTTER + (ms / extent) * PLOT;
  const rowHeight = items.length <= 100 ? 12 : items.length <= 500 ? 4 : 2;
  const strip = 60;
  const top = 2 * strip + 30;
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
  const downloads = inFlightStrip(
    inFlight,
    downloading,
    { extent, x, top: 0, height: strip },
    {
      name: 'downloads in flight',
      className: 'downloads',
      limit: concurrency,
      limitText: `concurrency ${concurrency}`,
    },
  );
  const writes = inFlightStrip(
    inFlight,
    writing,
    { extent, x, top: strip + 10, height: strip },
    { name: 'writes in flight', className: 'writes', limit: concurrency, limitText: `upload slots ${concurrency}` },
  );
  return `<svg class="waterfall" role="img" aria-label="Waterfall of ${items.length} items over ${Math.round(extent)} ms: downloads in flight against concurrency ${concurrency}, writes against as many upload slots" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}">
${downloads}
${writes}
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
