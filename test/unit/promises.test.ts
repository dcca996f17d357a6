import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { ItemOutcome } from '../../lambda/function/contracts/result.js';
import { joinChunks } from '../../lambda/function/orchestration/chunked/index.js';
import { readIdempotencyKey, requestHash } from '../../lambda/function/orchestration/idempotency.js';
import { tally } from '../../lambda/function/pipeline/run-items.js';
import {
  batchPrefix,
  catalogKey,
  chunkKey,
  idempotencyKey,
  imageKey,
  manifestKey,
  nameInBatch,
  photoOfKey,
  progressKey,
  progressPrefix,
  reportKey,
  retryClaimKey,
  statusKey,
} from '../../lambda/function/storage/keys.js';

const config = loadConfig({});

describe('requestHash: an Idempotency-Key binds the whole request', () => {
  const base = parseRequest({ count: 5, seed: 'abc', blur: 2 }, config);
  it.each([
    ['count', { count: 6 }],
    ['width', { width: 601 }],
    ['height', { height: 599 }],
    ['concurrency', { concurrency: 3 }],
    ['grayscale', { grayscale: true }],
    ['blur', { blur: 3 }],
    ['format', { format: 'webp' as const }],
    ['seed', { seed: 'abd' }],
  ])('differs when only %s differs', (_field, change) => {
    expect(requestHash({ ...base, ...change })).not.toBe(requestHash(base));
  });

  it('is the same for the same request after defaults, and a SHA-256', () => {
    expect(requestHash(parseRequest({}, config))).toBe(requestHash(parseRequest({ count: 15, width: 600 }, config)));
    expect(requestHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('readIdempotencyKey', () => {
  it('takes 1 to 255 visible ASCII characters and nothing else', () => {
    expect(readIdempotencyKey(undefined)).toBeUndefined();
    expect(readIdempotencyKey('a')).toBe('a');
    expect(readIdempotencyKey('!~')).toBe('!~');
    expect(readIdempotencyKey('k'.repeat(255))).toBe('k'.repeat(255));
    for (const bad of ['', 'k'.repeat(256), 'a b', 'é', '\t']) {
      expect(() => readIdempotencyKey(bad)).toThrow(
        expect.objectContaining({ field: 'Idempotency-Key', code: 'INVALID_HEADER' }),
      );
    }
  });
});

describe('the S3 layout', () => {
  const prefixed = { keyPrefix: 'p/' };
  it('puts every document of a batch under its prefix, each where the README says', () => {
    expect(batchPrefix(prefixed, 'b')).toBe('p/b/');
    expect(manifestKey(prefixed, 'b')).toBe('p/b/manifest.json');
    expect(statusKey(prefixed, 'b')).toBe('p/b/status.json');
    expect(chunkKey(prefixed, 'b', 3)).toBe('p/b/chunks/3.json');
    expect(progressPrefix(prefixed, 'b')).toBe('p/b/progress/');
    expect(progressKey(prefixed, 'b', 3)).toBe('p/b/progress/3.json');
    expect(idempotencyKey(prefixed, 'ab12')).toBe('p/idempotency/ab12.json');
    expect(reportKey(prefixed, 'b')).toBe('p/b/report.html');
    expect(catalogKey(prefixed)).toBe('p/catalog.json');
  });

  it("keeps a retry run's documents under retries/{r}/, beside its claim", () => {
    expect(retryClaimKey(prefixed, 'b', 2)).toBe('p/b/retries/2.json');
    expect(chunkKey(prefixed, 'b', 3, 2)).toBe('p/b/retries/2/chunks/3.json');
    expect(progressPrefix(prefixed, 'b', 2)).toBe('p/b/retries/2/progress/');
    expect(chunkKey(prefixed, 'b', 3, 0)).toBe('p/b/retries/0/chunks/3.json');
  });

  it("names an object within its batch's folder, and the photo an image key is of", () => {
    expect(nameInBatch('p/b/03-9.webp')).toBe('03-9.webp');
    expect(nameInBatch('name-only.jpg')).toBe('name-only.jpg');
    expect(photoOfKey('p/b/03-9.webp')).toBe('9');
    expect(photoOfKey('p/b/12-1084.jpg')).toBe('1084');
    expect(photoOfKey('p/b/03-9.webp.bak')).toBeUndefined();
    expect(photoOfKey('p/b/manifest.json')).toBeUndefined();
    expect(photoOfKey('03-9.jpg')).toBeUndefined();
  });

  it('pads image indexes to the width of the last one', () => {
    const key = (index: number, count: number) =>
      imageKey(prefixed, { batchId: 'b', index, count, picsumId: '9', format: 'webp' });
    expect(key(0, 1)).toBe('p/b/0-9.webp');
    expect(key(3, 10)).toBe('p/b/3-9.webp');
    expect(key(3, 11)).toBe('p/b/03-9.webp');
    expect(key(7, 101)).toBe('p/b/007-9.webp');
    expect(key(0, 0)).toBe('p/b/0-9.webp');
  });
});

const stored = (index: number, bytes = 10): ItemOutcome => ({
  index,
  ok: true,
  key: `k${index}`,
  bytes,
  sha256: 'x',
  attempts: 1,
  latencyMs: 1,
});
const failed = (index: number, reason: 'timeout' | 'not_image' = 'timeout'): ItemOutcome => ({
  index,
  ok: false,
  reason,
  message: `m${index}`,
  attempts: 2,
  latencyMs: 1,
});

describe('tally', () => {
  it('counts stored images, their bytes, and every failure by reason, listing the first 20', () => {
    const items = [
      stored(0, 5),
      failed(1),
      stored(2, 7),
      ...Array.from({ length: 30 }, (_, i) => failed(3 + i, 'not_image')),
    ];

    const result = tally(items);

    expect(result).toMatchObject({ succeeded: 2, failed: 31, bytes: 12 });
    expect(result.failureCounts).toEqual({ timeout: 1, not_image: 30 });
    expect(result.failures).toHaveLength(20);
    expect(result.failures[0]).toEqual({ index: 1, reason: 'timeout', attempts: 2, message: 'm1' });
    expect(result.failures.at(-1)?.index).toBe(21);
  });

  it('is all zeros for nothing', () => {
    expect(tally([])).toEqual({ succeeded: 0, failed: 0, bytes: 0, failures: [], failureCounts: {} });
  });
});

describe('joinChunks', () => {
  it('keeps every recorded item in index order and fails each item of a missing chunk, saying which', () => {
    const plan = {
      startedAt: '2026-11-25T00:00:00.000Z',
      chunks: [
        { chunk: 0, start: 0, end: 2 },
        { chunk: 1, start: 2, end: 5 },
        { chunk: 2, start: 5, end: 6 },
      ],
    };
    const summary = (finishedAt: string) => ({ finishedAt }) as never;
    const records = [
      { summary: summary('2026-11-25T00:00:05.000Z'), items: [stored(0), failed(1)] },
      undefined,
      { summary: summary('2026-11-25T00:00:03.000Z'), items: [stored(5)] },
    ];

    const { items, missingChunks, finishedAt } = joinChunks(plan, records);

    expect(items.map((item) => item.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(items.slice(2, 5)).toEqual(
      [2, 3, 4].map((index) => ({
        index,
        ok: false,
        reason: 'chunk_failed',
        message: 'Chunk 1 (items 2-4) did not finish',
        attempts: 0,
        latencyMs: 0,
      })),
    );
    expect(missingChunks).toEqual([1]);
    expect(finishedAt).toBe(Date.parse('2026-11-25T00:00:05.000Z'));
  });

  it('ends when the plan started when no chunk finished', () => {
    const plan = { startedAt: '2026-11-25T00:00:00.000Z', chunks: [{ chunk: 0, start: 0, end: 1 }] };
    expect(joinChunks(plan, [undefined]).finishedAt).toBe(Date.parse(plan.startedAt));
  });
});
