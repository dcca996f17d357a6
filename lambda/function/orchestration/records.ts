// The records a batch keeps in S3 besides its images, manifest and status (see BatchRecords).
import type { CatalogUse, ItemOutcome } from '../contracts/result.js';
import type { Chunk } from './plan.js';

/** How a chunk went, in a few bytes: Step Functions state is limited to 256 KB. */
export type ChunkSummary = Chunk & {
  done: number;
  succeeded: number;
  failed: number;
  bytes: number;
  startedAt: string;
  finishedAt: string;
  /** How the chunk chose its photos (see BatchResult). */
  catalog?: CatalogUse;
};

/**
 * `chunks/{n}.json`: a finished chunk's summary and every item it ran; `deferred` lists the items
 * it left to the aggregate step, whose photo another chunk fetches (one download per photo).
 */
export type ChunkRecord = { summary: ChunkSummary; items: ItemOutcome[]; deferred?: number[] };

/** `progress/{n}.json`: a chunk's counts so far, rewritten as it runs; `finished` once recorded. */
export type ChunkProgress = Pick<ChunkSummary, 'chunk' | 'done' | 'succeeded' | 'failed'> & { finished?: true };

/**
 * `retries/{run}.json`: a retry run's claim, written once with a conditional write, so that two
 * retries of a batch started at once cannot both run. It holds the items the run tries again:
 * too many, for a large batch, to travel in a job event or a state machine's input.
 */
export type RetryClaim = { run: number; claimedAt: string; indexes: number[] };

/** `{prefix}idempotency/{sha256 of the key}.json`: which batch a key started, and for what request. */
export type IdempotencyRecord = { version: 1; batchId: string; requestHash: string; createdAt: string };
