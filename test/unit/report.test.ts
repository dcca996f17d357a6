import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, ItemOutcome, Manifest } from '../../lambda/function/contracts/result.js';
import { MAX_REPORT_ROWS, renderReport, sampled } from '../../lambda/function/report/batch-report.js';

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
    expect(html).toContain('concurrency limit 4');
    expect(html).toMatch(/<title>item 1: stored, 41 ms, 1 attempt\(s\), copy of 0<\/title>/);
    // Two retry marks on the failed row.
    const failedRow = /<g class="row" data-index="2">.*?<\/g>/s.exec(html)?.[0] ?? '';
    expect(count(failedRow, /fill="#e0474c"/g)).toBe(3);
    expect(count(html, /<g class="bin">/g)).toBe(20);
  });

  it('never lets what a source said become markup, and needs no script', () => {
    expect(html).not.toContain('<script');
    expect(html).toContain('HTTP 503 &lt;script&gt;');
  });

  it('samples a batch larger than MAX_REPORT_ROWS, and says so', () => {
    const many = Array.from({ length: 5000 }, (_, index) => stored(index));
    const large = renderReport(manifestOf(many), options);
    expect(count(large, /<g class="row"/g)).toBe(MAX_REPORT_ROWS);
    expect(large).toContain('5000 items: every 2.5th is drawn (2000)');
    expect(
      sampled(many)
        .map((item) => item.index)
        .slice(0, 3),
    ).toEqual([0, 2, 5]);
  });
});
