import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { ItemOutcome } from '../../lambda/function/contracts/result.js';
import { summarize } from '../../lambda/function/orchestration/batch.js';
import { type ChunkRecord, joinChunks } from '../../lambda/function/orchestration/chunked/index.js';
import { chunkConcurrency, MAX_CHUNKS, planChunks } from '../../lambda/function/orchestration/plan.js';

const config = loadConfig({ BUCKET_NAME: 'b' });
const sizes = fc
  .integer({ min: 1, max: 5000 })
  .chain((chunkSize) =>
    fc.record({ chunkSize: fc.constant(chunkSize), count: fc.integer({ min: 0, max: chunkSize * MAX_CHUNKS }) }),
  );

describe('planChunks', () => {
  it('covers indexes 0..N-1 exactly once, in order, none over the limit, none empty', () => {
    fc.assert(
      fc.property(sizes, ({ count, chunkSize }) => {
        const chunks = planChunks(count, chunkSize);
        let next = 0;
        for (const [position, chunk] of chunks.entries()) {
          expect(chunk.chunk).toBe(position);
          expect(chunk.start).toBe(next);
          expect(chunk.end - chunk.start).toBeGreaterThan(0);
          expect(chunk.end - chunk.start).toBeLessThanOrEqual(chunkSize);
          next = chunk.end;
        }
        expect(next).toBe(count);
        expect(chunks).toHaveLength(Math.ceil(count / chunkSize));
      }),
    );
  });

  it('keeps chunks within one item of each other, so none is the straggler', () => {
    fc.assert(
      fc.property(sizes, ({ count, chunkSize }) => {
        const lengths = planChunks(count, chunkSize).map((chunk) => chunk.end - chunk.start);
        if (lengths.length > 0) expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(1);
      }),
    );
    expect(planChunks(5000, 2000).map((chunk) => chunk.end - chunk.start)).toEqual([1667, 1667, 1666]);
  });

  it('refuses a plan over MAX_CHUNKS chunks and nonsense sizes', () => {
    expect(() => planChunks(MAX_CHUNKS + 1, 1)).toThrow(/over 1000 chunks/);
    expect(() => planChunks(10, 0)).toThrow(RangeError);
    expect(() => planChunks(-1, 10)).toThrow(RangeError);
  });
});

describe('chunkConcurrency', () => {
  it('never lets the chunks running at once exceed SOURCE_MAX_CONCURRENCY on the source', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 2000 }),
        (parallel, requested, extra) => {
          const limits = { sourceMaxConcurrency: parallel + extra };
          const perChunk = chunkConcurrency(requested, parallel, limits);
          expect(perChunk).toBeGreaterThanOrEqual(1);
          expect(perChunk).toBeLessThanOrEqual(requested);
          expect(perChunk * parallel).toBeLessThanOrEqual(limits.sourceMaxConcurrency);
        },
      ),
    );
  });
});

describe('joining chunk records', () => {
  // A chunk's record: each item stored or failed at random; some chunks leave no record at all.
  const outcomes = fc.integer({ min: 1, max: 3000 }).chain((count) =>
    fc.record({
      count: fc.constant(count),
      chunkSize: fc.integer({ min: Math.max(1, Math.ceil(count / 50)), max: count }),
      seed: fc.integer(),
      recordedShare: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  );

  it('adds up: stored + failed = requested, every index once, missing chunks failed with a reason', () => {
    fc.assert(
      fc.property(outcomes, ({ count, chunkSize, seed, recordedShare }) => {
        const random = fc.sample(fc.double({ min: 0, max: 1, noNaN: true }), { seed, numRuns: count + 100 });
        let draw = 0;
        const next = () => random[draw++ % random.length] ?? 0;
        const plan = { chunks: planChunks(count, chunkSize), startedAt: '2026-11-25T00:00:00.000Z' };
        const records = plan.chunks.map((chunk): ChunkRecord | undefined => {
          if (next() > recordedShare) return undefined;
          const items: ItemOutcome[] = [];
          for (let index = chunk.start; index < chunk.end; index++) {
            items.push(
              next() < 0.8
                ? { index, ok: true, key: `k${index}`, bytes: 10, sha256: 'x', attempts: 1, latencyMs: 5 }
                : { index, ok: false, reason: 'source_status', message: 'HTTP 503', attempts: 4, latencyMs: 9 },
            );
          }
          const succeeded = items.filter((item) => item.ok).length;
          return {
            summary: {
              ...chunk,
              done: items.length,
              succeeded,
              failed: items.length - succeeded,
              bytes: succeeded * 10,
              startedAt: plan.startedAt,
              finishedAt: '2026-11-25T00:00:01.000Z',
            },
            items,
          };
        });

        const { items, missingChunks } = joinChunks(plan, records);
        const request = parseRequest({ count: Math.min(count, 100_000) }, config);
        const result = summarize(items, {
          batchId: 'b',
          request,
          concurrency: 1,
          config,
          startedAt: new Date(plan.startedAt),
          finishedAt: new Date(),
          elapsedMs: 1,
          cancelled: false,
        });

        expect(items.map((item) => item.index)).toEqual(Array.from({ length: count }, (_, index) => index));
        expect(result.succeeded + result.failed).toBe(result.requested);
        const expectedStored = records.reduce((sum, record) => sum + (record?.summary.succeeded ?? 0), 0);
        expect(result.succeeded).toBe(expectedStored);
        expect(result.bytes).toBe(expectedStored * 10);
        expect(missingChunks).toEqual(plan.chunks.filter((_, i) => !records[i]).map((chunk) => chunk.chunk));
        const chunkFailed = result.failureCounts.chunk_failed ?? 0;
        const missingItems = missingChunks.reduce((sum, n) => {
          const chunk = plan.chunks[n];
          return sum + (chunk ? chunk.end - chunk.start : 0);
        }, 0);
        expect(chunkFailed).toBe(missingItems);
      }),
      { numRuns: 60 },
    );
  });
});

describe('planChunks refuses what it cannot plan', () => {
  it.each([
    [-1, 10, 'count must be a whole number, got -1'],
    [1.5, 10, 'count must be a whole number, got 1.5'],
    [10, 0, 'chunkSize must be >= 1, got 0'],
    [10, 2.5, 'chunkSize must be >= 1, got 2.5'],
  ])('planChunks(%s, %s)', (count, chunkSize, message) => {
    expect(() => planChunks(count, chunkSize)).toThrow(new RangeError(message));
  });

  it('plans no chunk for no items, and refuses nothing', () => {
    expect(planChunks(0, 10)).toEqual([]);
  });
});
