import { type Config, MAX_CHUNKS } from '../contracts/config.js';
import type { Chunk } from '../contracts/steps.js';

/**
 * A contiguous run of a batch's work, `start` included and `end` excluded, run by one invocation:
 * item indexes for the batch's first run; for retry run `retry`, positions in its claim's list of
 * unfinished items.
 */
export type { Chunk } from '../contracts/steps.js';
export { MAX_CHUNKS };

/**
 * Splits items 0..count-1 into chunks of at most `chunkSize`, as even as possible: 5000 at 2000
 * becomes 1667, 1667, 1666 rather than 2000, 2000, 1000, so no chunk is the straggler.
 */
export function planChunks(count: number, chunkSize: number): Chunk[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a whole number, got ${count}`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be >= 1, got ${chunkSize}`);
  const chunks = Math.ceil(count / chunkSize);
  if (chunks > MAX_CHUNKS)
    throw new RangeError(`${count} items at ${chunkSize} per chunk is over ${MAX_CHUNKS} chunks`);
  const base = Math.floor(count / Math.max(chunks, 1));
  const larger = count - base * chunks;
  const plan: Chunk[] = [];
  let start = 0;
  for (let chunk = 0; chunk < chunks; chunk++) {
    const end = start + base + (chunk < larger ? 1 : 0);
    plan.push({ chunk, start, end });
    start = end;
  }
  return plan;
}

/**
 * Requests in flight per chunk, so that chunks running side by side never put more than
 * SOURCE_MAX_CONCURRENCY requests on the source at once: picsum is a free service that answers
 * overload with 503s.
 */
export function chunkConcurrency(
  requested: number,
  parallelChunks: number,
  config: Pick<Config, 'sourceMaxConcurrency'>,
): number {
  return Math.max(1, Math.min(requested, Math.floor(config.sourceMaxConcurrency / Math.max(1, parallelChunks))));
}
