import type { ItemOutcome, Manifest, RunTime } from '../contracts/result.js';
import { photoOfKey } from '../storage/keys.js';
import { byteSize } from './byte-size.js';
import { histogramSvg, waterfallSvg } from './charts.js';
import { escapeHtml as e } from './html.js';
import { sourceName } from './source-name.js';

/** Rows the waterfall draws at most: a 100,000-item batch's page must still open quickly. */
export const MAX_WATERFALL_ROWS = 500;

/** Items a page lists (thumbnails and table rows): a view costs the same at any batch size. */
export const REPORT_PAGE_SIZE = 100;

export type ReportOptions = {
  /** Where an item's image is, from the page: a relative key beside report.html, or a dev-server route. */
  imageHref(key: string): string;
  /** The manifest's address from the page. */
  manifestHref: string;
  /**
   * The page of items to list (from 1), and the address of any page, where a server pages through
   * them. Without it (report.html, read from S3 or a folder) the page lists the first items.
   */
  page?: { number: number; href(page: number): string };
};

/** Every `step`-th item, `max` of them at most, in index order: the rows a large batch draws. */
export function sampled(items: readonly ItemOutcome[], max = MAX_WATERFALL_ROWS): ItemOutcome[] {
  // Stryker disable next-line EqualityOperator: at exactly `max` items the sample takes every one, the same list.
  if (items.length <= max) return [...items];
  const step = items.length / max;
  return Array.from({ length: max }, (_, row) => items[Math.floor(row * step)] as ItemOutcome);
}

/** How many pages `count` items fill (one, for none). */
export const pagesOf = (count: number) => Math.max(1, Math.ceil(count / REPORT_PAGE_SIZE));

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function thumbnail(item: ItemOutcome, options: ReportOptions): string {
  const entry = `<a class="entry" href="#item-${item.index}">entry</a>`;
  if (!item.ok) {
    return `<li class="failed"><div class="placeholder" role="img" aria-label="Item ${item.index} failed: ${e(item.reason)}"><strong>${e(item.reason)}</strong></div><span>#${item.index} ${entry}</span></li>`;
  }
  const photo = photoOfKey(item.key) ?? '';
  const alt = `Photo ${photo}${item.author ? ` by ${item.author}` : ''}`;
  const copy =
    item.copyOf === undefined ? '' : ` <span class="copy" title="copied from item ${item.copyOf}">copy</span>`;
  return `<li><a href="${e(options.imageHref(item.key))}"><img src="${e(options.imageHref(item.key))}" alt="${e(alt)}" loading="lazy"></a><span>#${item.index}${copy} ${entry}</span></li>`;
}

function entryRow(item: ItemOutcome): string {
  const outcome = item.ok ? 'stored' : `${e(item.reason)}: ${e(item.message)}`;
  const json = e(JSON.stringify(item));
  return `<tr id="item-${item.index}"><td>${item.index}</td><td>${outcome}</td><td>${item.attempts}</td><td>${item.latencyMs}</td><td><details><summary>JSON</summary><pre>${json}</pre></details></td></tr>`;
}

const runName = (run: number) => (run === 0 ? 'First run' : `Retry ${run}`);

/** The batch's runs, as its result records them (a manifest from before `runs`: one run, as a whole). */
function runsOf(manifest: Manifest): RunTime[] {
  const { result } = manifest;
  return (
    result.runs ?? [
      {
        run: 0,
        startedAt: result.startedAt,
        elapsedMs: result.elapsedMs,
        items: manifest.items.length,
        concurrency: result.concurrency,
      },
    ]
  );
}

/** A table of a retried batch's runs: each with its own start, items, time and concurrency. */
function runsTable(runs: readonly RunTime[]): string {
  if (runs.length < 2) return '';
  const rows = runs
    .map(
      (run) =>
        `<tr data-run="${run.run}"><td>${runName(run.run)}</td><td>${e(run.startedAt)}</td><td>${run.items}</td><td>${seconds(run.elapsedMs)}</td><td>${run.concurrency}</td></tr>`,
    )
    .join('');
  return `<h2>Runs</h2><table class="runs"><thead><tr><th>run</th><th>started</th><th>items</th><th>elapsed</th><th>concurrency</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * One waterfall per run, each on its own time axis (an item's timeline counts from the start of the
 * run it last ran in), each against that run's concurrency: rows for the sampled items, in-flight
 * counts from all of them.
 */
function waterfalls(items: readonly ItemOutcome[], rows: readonly ItemOutcome[], runs: readonly RunTime[]): string {
  const ofRun = (run: RunTime) => (item: ItemOutcome) => (item.run ?? 0) === run.run;
  return runs
    .map((run) => {
      const all = items.filter(ofRun(run));
      if (all.length === 0) return '';
      const heading =
        runs.length > 1 ? `<h3>${runName(run.run)}: ${all.length} item(s), ${seconds(run.elapsedMs)}</h3>` : '';
      return `${heading}${waterfallSvg(rows.filter(ofRun(run)), run.concurrency, all)}`;
    })
    .join('\n');
}

/** Links to the pages of items around `number` (previous, next, first, last), and where this one is. */
function pager(number: number, total: number, href: ((page: number) => string) | undefined): string {
  const pages = pagesOf(total);
  if (pages === 1) return '';
  const first = (number - 1) * REPORT_PAGE_SIZE + 1;
  const last = Math.min(total, number * REPORT_PAGE_SIZE);
  const where = `Items ${first}–${last} of ${total} (page ${number} of ${pages})`;
  if (!href) return `<p class="pages note">${where}. <a href="#manifest">manifest.json</a> lists every item.</p>`;
  const link = (to: number, text: string, rel = '') =>
    to >= 1 && to <= pages && to !== number ? `<a href="${e(href(to))}"${rel ? ` rel="${rel}"` : ''}>${text}</a>` : '';
  const links = [
    link(1, 'First'),
    link(number - 1, 'Previous', 'prev'),
    link(number + 1, 'Next', 'next'),
    link(pages, 'Last'),
  ]
    .filter(Boolean)
    .join(' ');
  return `<nav class="pages" aria-label="Pages of items"><span>${where}</span> ${links}</nav>`;
}

/** What the latency histogram leaves out: the items that were not stored, by how they ended. */
function notDrawn(items: readonly ItemOutcome[]): string {
  const cancelled = items.filter((item) => !item.ok && item.reason === 'cancelled').length;
  const failed = items.filter((item) => !item.ok).length - cancelled;
  const parts = [failed ? `${failed} failed` : '', cancelled ? `${cancelled} cancelled` : ''].filter(Boolean);
  return parts.length ? `<p class="note" id="not-drawn">Stored items only: ${parts.join(' and ')} not drawn.</p>` : '';
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1b1b1f;background:#fff}
h1{font-size:1.3rem;margin:0 0 .5rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
dl.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.5rem;margin:0}
dl.summary div{background:#f3f4f7;border-radius:6px;padding:.4rem .6rem}dt{color:#555;font-size:.8rem}dd{margin:0;font-weight:600}
ul.grid{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(110px,1fr));gap:.5rem}
ul.grid li{font-size:.75rem}ul.grid img,.placeholder{width:100%;aspect-ratio:1;object-fit:cover;border-radius:4px;display:block;background:#ddd}
.placeholder{display:flex;align-items:center;justify-content:center;background:#fbe3e3;color:#8a1c1c;text-align:center}
.copy{color:#3d5a99}.note{color:#555}svg{max-width:100%;height:auto;font:11px system-ui,sans-serif}
table{border-collapse:collapse}td,th{padding:.2rem .5rem;border-bottom:1px solid #e4e4e8;text-align:left;vertical-align:top}
pre{white-space:pre-wrap;max-width:60rem;margin:0}a:focus,summary:focus{outline:2px solid #3d5a99}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 .8rem;vertical-align:middle}
nav.pages{margin:.5rem 0}nav.pages a{margin-left:.6rem}
`;

/**
 * A batch as a page a person reads: its summary, a waterfall of its items (waiting, downloading,
 * writing; retries marked; the concurrency limit drawn over the in-flight count) and a histogram of
 * item latency, as inline SVG from the manifest's timelines; then one page of its images (failed
 * ones as placeholders with the reason) and of its manifest entries. Self-contained (styles inline,
 * no script): readable without JavaScript, from S3 or a folder synced from it. A page lists
 * REPORT_PAGE_SIZE items, and the waterfall samples MAX_WATERFALL_ROWS, saying so: a view of
 * 100,000 items costs about what one of 100 does.
 */
export function renderReport(manifest: Manifest, options: ReportOptions): string {
  const { result, items } = manifest;
  const runs = runsOf(manifest);
  const rows = sampled(items);
  const sampleNote =
    rows.length < items.length
      ? `<p class="note">${items.length} items: every ${(items.length / rows.length).toFixed(1)}th is drawn (${rows.length}).</p>`
      : '';
  const number = Math.min(Math.max(1, options.page?.number ?? 1), pagesOf(items.length));
  const listed = items.slice((number - 1) * REPORT_PAGE_SIZE, number * REPORT_PAGE_SIZE);
  const pages = pager(number, items.length, options.page?.href);
  const facts: [string, string][] = [
    ['stored', `${result.succeeded} of ${result.requested}`],
    ['failed', String(result.failed)],
    ['bytes', byteSize(result.bytes)],
    [runs.length > 1 ? 'elapsed, all runs' : 'elapsed', seconds(result.elapsedMs)],
    ['concurrency', String(result.concurrency)],
    ['source', sourceName(result.source)],
    ['retries', String(result.retries ?? 0)],
    // Latency is of stored items: with none, there is none to give (not 0 ms).
    [
      'latency p50 / p99',
      result.succeeded > 0 ? `${result.latencyMs.p50} / ${result.latencyMs.p99} ms` : 'none stored',
    ],
    ['status', result.succeeded > 0 || result.requested === 0 ? result.status : `${result.status}, nothing stored`],
  ];
  const latencies = items.flatMap((item) => (item.ok ? [item.latencyMs] : []));
  const failures = Object.entries(result.failureCounts ?? {})
    .map(([reason, count]) => `${e(reason)}: ${count}`)
    .join(', ');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Batch ${e(result.batchId)}</title><style>${STYLE}</style></head>
<body>
<main>
<h1>Batch <code>${e(result.batchId)}</code></h1>
<p class="note">${runs.length > 1 ? 'First started' : 'Started'} ${e(result.startedAt)}, ${runs.length > 1 ? 'last finished' : 'finished'} ${e(result.finishedAt)}. <a id="manifest" href="${e(options.manifestHref)}">manifest.json</a></p>
${runsTable(runs)}
<dl class="summary">${facts.map(([name, value]) => `<div><dt>${name}</dt><dd data-fact="${name}">${e(value)}</dd></div>`).join('')}</dl>
${failures ? `<p>Failed by reason: ${failures}</p>` : ''}
<h2>Waterfall</h2>${sampleNote}
<p class="legend" aria-hidden="true"><span style="background:#d9dce3"></span>waiting<span style="background:#5b8def"></span>downloading<span style="background:#2fb380"></span>writing<span style="background:#e0474c"></span>failed / retry</p>
${waterfalls(items, rows, runs)}
<h2>Item latency</h2>
${latencies.length ? `${notDrawn(items)}\n${histogramSvg(latencies)}` : '<p class="note">No item was stored: there is no latency to draw. The reasons are above, and each item below.</p>'}
<h2 id="images">Images</h2>${pages}
<ul class="grid">${listed.map((item) => thumbnail(item, options)).join('')}</ul>
<h2 id="items">Items</h2>
<table><thead><tr><th>#</th><th>outcome</th><th>attempts</th><th>latency ms</th><th>manifest entry</th></tr></thead>
<tbody>${listed.map(entryRow).join('')}</tbody></table>${pages}
</main>
</body>
</html>
`;
}
