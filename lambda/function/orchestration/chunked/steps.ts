import type { Config } from '../../contracts/config.js';
import type { BatchRequest } from '../../contracts/request.js';
import type { BatchResult, CatalogUse, ItemOutcome, RetryRun } from '../../contracts/result.js';
import type { Deps } from '../../pipeline/item-context.js';
import type { BatchJob } from '../batch.js';
import type { Chunk } from '../plan.js';

/**
 * A batch too large for one invocation, split into chunks: what the plan step hands to the map
 * (Step Functions, deployed) or to the loop over chunks (locally).
 */
export type BatchPlan = {
  batchId: string;
  request: BatchRequest;
  /** A retry run's plan: its chunks cover the unfinished items its claim lists. */
  retry?: RetryRun;
  /** A scheduled batch's plan: it heals itself once (see BatchJob). */
  scheduled?: true;
  /** Requests in flight per chunk. */
  concurrency: number;
  /** Chunks that may run at once. */
  parallelChunks: number;
  startedAt: string;
  chunks: Chunk[];
};

/** One chunk's work, as the map sends it. */
export type ChunkTask = {
  batchId: string;
  request: BatchRequest;
  concurrency: number;
  chunk: Chunk;
  /** When the batch was planned: items' timelines count from it (a task without it counts from its chunk's start). */
  startedAt?: string;
};

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

/** What the aggregate step returns to Step Functions: the result itself is in the manifest. */
export type AggregateSummary = Pick<
  BatchResult,
  'batchId' | 'requested' | 'succeeded' | 'failed' | 'elapsedMs' | 'manifestKey'
> & { missingChunks: number[] };

export type Options = { config: Config; deps: Deps };

/** The state machine's three task events (see infra/batch-workflow.ts). */
export type PlanEvent = { kind: 'picsum-batch.plan'; job: BatchJob };
export type ChunkEvent = { kind: 'picsum-batch.chunk'; task: ChunkTask };
export type AggregateEvent = { kind: 'picsum-batch.aggregate'; plan: BatchPlan };
/** Sent by the state machine's catch when plan or aggregate failed for good: Step Functions' error. */
export type FailedEvent = {
  kind: 'picsum-batch.failed';
  batchId: string;
  requested: number;
  failure: { Error?: string; Cause?: string };
};
export type WorkflowEvent = PlanEvent | ChunkEvent | AggregateEvent | FailedEvent;
