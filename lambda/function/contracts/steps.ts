// The state machine's payloads, each defined once: the workflow entry checks each event with these
// schemas (adapters/entry-events.ts), and the types the steps take are theirs. A payload's
// `request` is checked apart, by the API's own rules (parseRequest), whose limits are the config's.
import * as z from 'zod/mini';
import { MAX_CHUNKS } from './config.js';
import type { BatchRequest } from './request.js';
import { BATCH_ID_PATTERN } from './request.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.int().check(z.minimum(min), z.maximum(max));
/** A batch id as this project makes them (see BATCH_ID_PATTERN): in every payload and answer that names one. */
export const batchId = z.string().check(z.regex(BATCH_ID_PATTERN));
const isoTime = z.string().check(z.refine((value) => !Number.isNaN(Date.parse(value))));

/** A retry run of a batch: its number (1, 2, ...) and how many unfinished items it runs again. */
export const retryRun = z.object({ run: int(1), items: int(0) });

/** Items `start` to `end - 1` of a run (the batch's first, or retry run `retry`): one Map item. */
export const chunkShape = z.object({
  chunk: int(0, MAX_CHUNKS - 1),
  start: int(0),
  end: int(1),
  retry: z.optional(int(1)),
});

/**
 * A batch to run: its id and its request (a 202 batch's background job, a scheduled run), and for
 * a retry, which run it is (the items are in the run's claim: see orchestration/retry.ts).
 */
export const jobShape = z.object({
  batchId,
  request: z.unknown(),
  retry: z.optional(retryRun),
  /** Started by the schedule: left with failed items, it retries them once (healDelaySeconds later). */
  scheduled: z.optional(z.literal(true)),
});

/** A batch split into chunks: what the plan step hands to the map, and the aggregate reads back. */
export const planShape = z.object({
  ...jobShape.shape,
  /** Requests in flight per chunk. */
  concurrency: int(1),
  /** Chunks that may run at once. */
  parallelChunks: int(1),
  startedAt: isoTime,
  chunks: z.array(chunkShape).check(z.minLength(1), z.maxLength(MAX_CHUNKS)),
});

/** One chunk's work, as the map sends it. */
export const taskShape = z.object({
  batchId,
  request: z.unknown(),
  concurrency: int(1),
  /** When the batch was planned: items' timelines count from it, and only its own plan's chunks act. */
  startedAt: isoTime,
  chunk: chunkShape,
});

/** The events of the workflow function, one per step of the state machine, by `kind`. */
export const STEP_SHAPES = {
  /** The schedule's run envelope (or one a user starts the machine with); its fields are checked in entry-events.ts. */
  'picsum-batch.run': z.object({
    kind: z.literal('picsum-batch.run'),
    request: z.optional(z.unknown()),
    scheduleName: z.optional(z.unknown()),
    scheduledTime: z.optional(z.unknown()),
  }),
  /** `execution`: the name of the execution that plans the run, so its status can ask the engine about it. */
  'picsum-batch.plan': z.object({
    kind: z.literal('picsum-batch.plan'),
    job: jobShape,
    execution: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,80}$/)),
  }),
  'picsum-batch.chunk': z.object({ kind: z.literal('picsum-batch.chunk'), task: taskShape }),
  'picsum-batch.aggregate': z.object({ kind: z.literal('picsum-batch.aggregate'), plan: planShape }),
  /** Sent by the state machine's catch when plan or aggregate failed for good: Step Functions' error. */
  'picsum-batch.failed': z.object({
    kind: z.literal('picsum-batch.failed'),
    batchId,
    requested: int(0),
    failure: z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) }),
  }),
  /** A scheduled batch's heal, once its delay has passed: claim a retry run of its unfinished items. */
  'picsum-batch.heal': z.object({ kind: z.literal('picsum-batch.heal'), batchId }),
};

/** A payload whose request has been checked: the request as parseRequest returns it. */
type Checked<T> = Omit<T, 'request'> & { request: BatchRequest };

export type Chunk = z.output<typeof chunkShape>;
export type BatchJob = Checked<z.output<typeof jobShape>>;
export type BatchPlan = Checked<z.output<typeof planShape>>;
export type ChunkTask = Checked<z.output<typeof taskShape>>;
export type PlanEvent = { kind: 'picsum-batch.plan'; job: BatchJob; execution: string };
export type ChunkEvent = { kind: 'picsum-batch.chunk'; task: ChunkTask };
export type AggregateEvent = { kind: 'picsum-batch.aggregate'; plan: BatchPlan };
export type FailedEvent = z.output<(typeof STEP_SHAPES)['picsum-batch.failed']>;
export type HealEvent = z.output<(typeof STEP_SHAPES)['picsum-batch.heal']>;
