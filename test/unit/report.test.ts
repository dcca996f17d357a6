import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, ItemOutcome, Manifest } from '../../lambda/function/contracts/result.js';
import {
  MAX_WATERFALL_ROWS,
  REPORT_PAGE_SIZE,
  renderReport,
  sampled,
} from '../../lambda/function/report/batch-report.js';

const stored = (index: number, extra: Partial<ItemOutcome> = {}): ItemOutcome =>
  ({
    index,
    ok: true,
    key: `images/b/${index}-${100 + index}.jpg`,
    bytes: 1000,
    sha256: 'h',
    attempts: 1,
    latencyMs: 40 + index,
    startMs: index * 5,
    downloadedMs: index * 5 + 30,
    storedMs: index * 5 + 40 + index,
    author: 'Ada <Lovelace>',
    ...extra,
  }) as ItemOutcome;

function manifestOf(items: ItemOutcome[]): Manifest {
  const result = {
    batchId: 'b',
    status: 'done',
    requested: items.length,
    succeeded: items.filter((item) => item.ok).length,
    failed: items.filter((item) => !item.ok).length,
    elapsedMs: 1234,
    bytes: 4_000_000,
    concurrency: 4,
    source: 'picsum.photos',
    bucket: 'bk',
    prefix: 'images/b/',
    manifestKey: 'images/b/manifest.json',
    failures: [],
    failureCounts: { source_status: 1 },
    latencyMs: { p50: 41, p90: 50, p99: 55, max: 60 },
    startedAt: '2026-11-26T00:00:00.000Z',
    finishedAt: '2026-11-26T00:00:01.234Z',
    retries: 1,
  } as BatchResult;
  return { version: 1, batchId: 'b', request: parseRequest({ count: items.length }, loadConfig({})), result, items };
}

const options = { imageHref: (key: string) => key.slice(key.lastIndexOf('/') + 1), manifestHref: 'manifest.json' };
const count = (html: string, pattern: RegExp) => html.match(pattern)?.length ?? 0;

describe('renderReport', () => {
  const items = [
    stored(0),
    stored(1, { copyOf: 0 } as Partial<ItemOutcome>),
    {
      index: 2,
      ok: false,
      reason: 'source_status',
      message: 'HTTP 503 <script>',
      attempts: 4,
      latencyMs: 900,
      startMs: 10,
      retries: [
        { reason: 'source_status', waitMs: 200 },
        { reason: 'source_status', waitMs: 400 },
      ],
    } as ItemOutcome,
  ];
  const html = renderReport(manifestOf(items), options);

  it('shows every image by its relative key with alt text, and a failed item as its reason', () => {
    expect(count(html, /<img /g)).toBe(2);
    expect(html).toContain('<img src="0-100.jpg" alt="Photo 100 by Ada &lt;Lovelace&gt;"');
    expect(html).toContain('aria-label="Item 2 failed: source_status"');
    expect(html).toContain('href="#item-2"');
    expect(html).toContain('id="item-2"');
  });

  it('summarises the result: stored, failed, bytes, elapsed, concurrency, retries', () => {
    expect(html).toContain('data-fact="stored">2 of 3<');
    expect(html).toContain('data-fact="failed">1<');
    expect(html).toContain('data-fact="bytes">4.0 MB<');
    expect(html).toContain('data-fact="elapsed">1.23 s<');
    expect(html).toContain('data-fact="concurrency">4<');
    expect(html).toContain('data-fact="retries">1<');
  });

  it('draws a waterfall row per item with its phases, retries marked and the concurrency limit, and a histogram', () => {
    expect(count(html, /<g class="row"/g)).toBe(3);
    expect(html).toContain('concurrency 4');
    expect(html).toContain('upload slots 4');
    expect(html).toMatch(/<title>item 1: stored, 41 ms, 1 attempt\(s\), copy of 0<\/title>/);
    // Two retry marks on the failed row.
    const failedRow = /<g class="row" data-index="2">.*?<\/g>/s.exec(html)?.[0] ?? '';
    expect(count(failedRow, /fill="#e0474c"/g)).toBe(3);
    expect(count(html, /<g class="bin">/g)).toBe(20);
  });

  it('draws downloads and writes in flight apart, each against its own limit', () => {
    // Four items downloading at once (from 0 ms), their writes one after another (30-40, 40-50, ...).
    const overlapping = [0, 1, 2, 3].map((index) =>
      stored(index, { startMs: 0, downloadedMs: 30 + index * 10, storedMs: 40 + index * 10 } as Partial<ItemOutcome>),
    );
    const page = renderReport(manifestOf(overlapping), options);

    expect(page).toMatch(/<g class="downloads" data-limit="4" data-most="4">/);
    expect(page).toMatch(/<g class="writes" data-limit="4" data-most="1">/);
  });

  it('counts latency of stored items only in the histogram, and says what it leaves out', () => {
    const cancelled = {
      index: 3,
      ok: false,
      reason: 'cancelled',
      message: 'x',
      attempts: 0,
      latencyMs: 0,
    } as ItemOutcome;
    const page = renderReport(manifestOf([...items, cancelled]), options);

    expect(page).toMatch(/aria-label="Item latency from 0 to \d+ ms, 2 items"/);
    expect(page).toContain('Stored items only: 1 failed and 1 cancelled not drawn.');
  });

  it("shows each run of a retried batch with its own time, and a waterfall per run on that run's axis", () => {
    const manifest = manifestOf([stored(0), stored(1, { run: 1 } as Partial<ItemOutcome>)]);
    manifest.result.runs = [
      { run: 0, startedAt: '2026-11-26T00:00:00.000Z', elapsedMs: 1000, items: 2, concurrency: 4 },
      { run: 1, startedAt: '2026-11-26T00:00:30.000Z', elapsedMs: 234, items: 1, concurrency: 2 },
    ];
    const page = renderReport(manifest, options);

    expect(page).toMatch(
      /<tr data-run="0"><td>First run<\/td><td>2026-11-26T00:00:00.000Z<\/td><td>2<\/td><td>1.00 s<\/td><td>4<\/td><\/tr>/,
    );
    expect(page).toMatch(
      /<tr data-run="1"><td>Retry 1<\/td><td>2026-11-26T00:00:30.000Z<\/td><td>1<\/td><td>0.23 s<\/td><td>2<\/td><\/tr>/,
    );
    expect(page).toContain('<h3>First run: 1 item(s), 1.00 s</h3>');
    expect(page).toContain('<h3>Retry 1: 1 item(s), 0.23 s</h3>');
    expect(count(page, /<svg class="waterfall"/g)).toBe(2);
    expect(page).toContain('data-fact="elapsed, all runs"');
  });

  it('says a batch with nothing stored stored nothing, and draws no empty latency chart', () => {
    const failed = (index: number) =>
      ({ index, ok: false, reason: 'source_status', message: 'HTTP 404', attempts: 1, latencyMs: 10 }) as ItemOutcome;
    const manifest = manifestOf([failed(0), failed(1)]);
    manifest.result.latencyMs = { p50: 0, p90: 0, p99: 0, max: 0 };
    const html = renderReport(manifest, options);

    expect(html).toContain('data-fact="status">done, nothing stored<');
    expect(html).toContain('data-fact="latency p50 / p99">none stored<');
    expect(html).toContain('No item was stored: there is no latency to draw.');
    expect(count(html, /<svg class="histogram"/g)).toBe(0);
  });

  it('names where the images came from: picsum.photos, the offline placeholders, or the URL', () => {
    const manifest = manifestOf([stored(0)]);
    expect(renderReport(manifest, options)).toContain('data-fact="source">picsum.photos<');
    manifest.result.source = 'offline';
    expect(renderReport(manifest, options)).toContain(
      'data-fact="source">the offline server&#39;s placeholders (not photos)<',
    );
  });

  it('never lets what a source said become markup, and needs no script', () => {
    expect(html).not.toContain('<script');
    expect(html).toContain('HTTP 503 &lt;script&gt;');
  });

  it('samples the waterfall of a batch larger than MAX_WATERFALL_ROWS, and says so, counting every item in flight', () => {
    const many = Array.from({ length: 5000 }, (_, index) =>
      stored(index, { startMs: 0, downloadedMs: 30, storedMs: 40 }),
    );
    const large = renderReport(manifestOf(many), options);
    expect(count(large, /<g class="row"/g)).toBe(MAX_WATERFALL_ROWS);
    expect(large).toContain('5000 items: every 10.0th is drawn (500)');
    // Exactly MAX_WATERFALL_ROWS items are drawn whole.
    const whole = renderReport(manifestOf(many.slice(0, MAX_WATERFALL_ROWS)), options);
    expect(count(whole, /<g class="row"/g)).toBe(MAX_WATERFALL_ROWS);
    expect(whole).not.toContain('is drawn');
    expect(
      sampled(many)
        .map((item) => item.index)
        .slice(0, 3),
    ).toEqual([0, 10, 20]);
    // All 5,000 download at once: the strip counts them all, not the 500 rows drawn.
    expect(/class="downloads" data-limit="4" data-most="(\d+)"/.exec(large)?.[1]).toBe('5000');
  });

  it('lists one page of items, the summary and waterfall before them, and links the pages around it', () => {
    const many = Array.from({ length: 250 }, (_, index) => stored(index));
    const href = (page: number) => `?page=${page}`;
    const second = renderReport(manifestOf(many), { ...options, page: { number: 2, href } });

    expect(count(second, /<ul class="grid"><li>|<\/li><li>/g)).toBe(REPORT_PAGE_SIZE);
    expect(count(second, /<tr id="item-/g)).toBe(REPORT_PAGE_SIZE);
    expect(second).toContain('<tr id="item-100">');
    expect(second).toContain('<tr id="item-199">');
    expect(second).not.toContain('<tr id="item-200">');
    expect(second).toContain('Items 101–200 of 250 (page 2 of 3)');
    expect(second).toContain(
      '<nav class="pages" aria-label="Pages of items"><span>Items 101–200 of 250 (page 2 of 3)</span> <a href="?page=1">First</a> <a href="?page=1" rel="prev">Previous</a> <a href="?page=3" rel="next">Next</a> <a href="?page=3">Last</a></nav>',
    );
    // The first page links no page before it, nor itself.
    const first = renderReport(manifestOf(many), { ...options, page: { number: 1, href } });
    expect(first).toContain(
      '<span>Items 1–100 of 250 (page 1 of 3)</span> <a href="?page=2" rel="next">Next</a> <a href="?page=3">Last</a></nav>',
    );
    const order = ['data-fact="stored"', 'class="waterfall"', 'class="histogram"', 'class="grid"', '<tr id="item-'];
    const at = order.map((marker) => second.indexOf(marker));
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(at.every((position) => position >= 0)).toBe(true);

    const last = renderReport(manifestOf(many), { ...options, page: { number: 3, href } });
    expect(count(last, /<tr id="item-/g)).toBe(50);
    expect(last).not.toContain('rel="next"');
    // A static report (no pages to link): the first page, and where every item is.
    const report = renderReport(manifestOf(many), options);
    expect(count(report, /<tr id="item-/g)).toBe(REPORT_PAGE_SIZE);
    expect(report).toContain(
      'Items 1–100 of 250 (page 1 of 3). <a href="#manifest">manifest.json</a> lists every item.',
    );
    // A batch that fits one page has no pager.
    expect(html).toContain('<h2 id="images">Images</h2>\n<ul class="grid">');
    expect(html).toContain('</tbody></table>\n</main>');
  });
});
