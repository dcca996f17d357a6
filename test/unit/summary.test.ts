import { describe, expect, it } from 'vitest';
import type { BatchResult } from '../../lambda/function/contracts/result.js';
import { byteSize } from '../../lambda/function/report/byte-size.js';
import { EXIT_CODES, exitCodeOf } from '../../lambda/local/exit-codes.js';
import { retryCommand, summarize } from '../../lambda/local/summary.js';

const result = (extra: Partial<BatchResult> = {}): BatchResult =>
  ({
    batchId: 'b1',
    status: 'done',
    requested: 5,
    succeeded: 2,
    failed: 3,
    elapsedMs: 1200,
    bytes: 2_000_000,
    concurrency: 4,
    source: 'picsum.photos',
    bucket: 'bk',
    prefix: 'images/b1/',
    manifestKey: 'images/b1/manifest.json',
    failures: [
      { index: 0, reason: 'source_status', attempts: 1, message: 'HTTP 404' },
      { index: 2, reason: 'source_status', attempts: 1, message: 'HTTP 404' },
      { index: 4, reason: 'source_network', attempts: 4, message: 'reset' },
    ],
    failureCounts: { source_status: 2, source_network: 1 },
    latencyMs: { p50: 10, p90: 20, p99: 30, max: 30 },
    startedAt: '2026-12-02T00:00:00.000Z',
    finishedAt: '2026-12-02T00:00:01.200Z',
    retries: 0,
    ...extra,
  }) as BatchResult;

describe('summarize', () => {
  it('prints each distinct failure once, with the items it befell', () => {
    const text = summarize(result(), { storageNote: 'test' });

    expect(text).toContain('  #0, #2 (2×): source_status after 1 attempt(s): HTTP 404');
    expect(text).toContain('  #4: source_network after 4 attempt(s): reset');
    expect(text.match(/HTTP 404/g)).toHaveLength(1);
  });

  it('ends with the exact command that runs the unfinished items again, from the same source', () => {
    expect(summarize(result(), { storageNote: 'test' })).toMatch(
      /Unfinished: 3 item\(s\)\. Run them again into this batch: npm start -- --retry b1$/,
    );
    expect(retryCommand(result({ source: 'offline' }))).toBe('npm start -- --retry b1 --source offline');
    expect(summarize(result({ failed: 0, succeeded: 5, failures: [] }), { storageNote: 'test' })).not.toContain(
      'Unfinished',
    );
  });

  it('reports no latency when nothing was stored', () => {
    expect(summarize(result({ succeeded: 0, failed: 5 }), { storageNote: 'test' })).toContain(
      'Item latency: no item was stored.',
    );
  });
});

describe('exitCodeOf', () => {
  it('tells a whole batch from a partial one from an empty one, and a cancelled one', () => {
    expect(exitCodeOf({ status: 'done', succeeded: 5, failed: 0 })).toBe(EXIT_CODES.stored);
    expect(exitCodeOf({ status: 'done', succeeded: 2, failed: 3 })).toBe(3);
    expect(exitCodeOf({ status: 'done', succeeded: 0, failed: 5 })).toBe(4);
    expect(exitCodeOf({ status: 'cancelled', succeeded: 5, failed: 0 })).toBe(130);
  });
});

describe('sizes', () => {
  // The summary and the page said 5.6 MB and 5.9 MB of the same 5,866,510 bytes, and 0.0 MB of a small batch.
  it('are decimal everywhere, in a unit that shows them', () => {
    expect(byteSize(5_866_510)).toBe('5.9 MB');
    expect(byteSize(0)).toBe('0 B');
    expect(byteSize(999)).toBe('999 B');
    expect(byteSize(18_800)).toBe('18.8 kB');
    expect(byteSize(999_949)).toBe('999.9 kB');
    expect(byteSize(2_500_000_000)).toBe('2.5 GB');
    expect(byteSize(3_000_000_000_000)).toBe('3000.0 GB');
  });
});
