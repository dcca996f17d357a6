import pMap from 'p-map';
import type { Config } from '../contracts/config.js';
import { AppError } from '../contracts/errors.js';
import type { BatchRequest } from '../contracts/request.js';
import type { BatchResult, CatalogUse, ItemOutcome, RetryRun } from '../contracts/result.js';
import type { Deps } from '../pipeline/item.js';
import { PhotoLedger, type StoredPhoto } from '../pipeline/photo-ledger.js';
import { indexRange, type RunOptions, runItems, tally } from '../pipeline/run-items.js';
import type { PhotoChoice } from '../source/photo-picks.js';
import { chunkKey, progressKey, progressPrefix, statusKey } from '../storage/keys.js';
import { getJson, listKeys, putJson } from '../storage/objects.js';
import { type BatchJob, jobSize, storedPhotos, summarize, writeManifest } from './batch.js';
import { planPhotos } from './photos.js';
import { type Chunk, chunkConcurrency, planChunks } from './plan.js';
import { finishRetry, readRetry } from './retry.js';
import { type BatchStatus, putStatus, throttled } from './status.js';

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
type ChunkProgress = Pick<ChunkSummary, 'chunk' | 'done' | 'succeeded' | 'failed'> & { finished?: true };

/** What the aggregate step returns to Step Functions: the result itself is in the manifest. */
export type AggregateSummary = Pick<
  BatchResult,
  'batchId' | 'requested' | 'succeeded' | 'failed' | 'elapsedMs' | 'manifestKey'
> & { missingChunks: number[] };

type Options = { config: Config; deps: Deps };

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

/** Splits the batch into chunks and records it as running. */
export async function planBatch(job: BatchJob, parallelChunks: number, options: Options): Promise<BatchPlan> {
  const { config, deps } = options;
  const { retry } = job;
  const chunks = planChunks(jobSize(job), config.chunkSize).map((chunk) =>
    retry ? { ...chunk, retry: retry.run } : chunk,
  );
  const plan: BatchPlan = {
    batchId: job.batchId,
    request: job.request,
    ...(retry ? { retry } : {}),
    ...(job.scheduled ? { scheduled: true as const } : {}),
    concurrency: chunkConcurrency(job.request.concurrency, Math.min(parallelChunks, chunks.length), config),
    parallelChunks: Math.min(parallelChunks, chunks.length),
    startedAt: new Date().toISOString(),
    chunks,
  };
  const status: BatchStatus = {
    batchId: job.batchId,
    status: 'running',
    requested: job.request.count,
    done: 0,
    succeeded: 0,
    failed: 0,
    chunks: { total: chunks.length, done: 0 },
    plannedAt: plan.startedAt,
    ...(retry ? { retry } : {}),
  };
  await putStatus(status, config, deps);
  return plan;
}

/** A chunk or aggregate step for a run the batch is not running: a stale or forged step. Nothing is written. */
export class NotPlannedError extends AppError {
  constructor(batchId: string, plannedAt: string | undefined, status: BatchStatus | undefined) {
    const found = status
      ? `${status.status}${status.status === 'running' ? ` (planned at ${status.plannedAt})` : ''}`
      : 'no record';
    super(
      'NOT_PLANNED',
      `Batch ${batchId} is not running a chunked run planned at ${plannedAt}: its record says ${found}`,
    );
    this.name = 'NotPlannedError';
  }
}

/** The batch's own status record (not merged with its manifest), as last written. */
const statusRecord = (batchId: string, options: Options) =>
  getJson<BatchStatus>(options.deps.s3, options.config, statusKey(options.config, batchId));

/** Whether a status record is of the chunked run planned at `plannedAt`, still running. */
const runningPlan = (status: BatchStatus | undefined, plannedAt: string | undefined): boolean =>
  status?.status === 'running' && plannedAt !== undefined && status.plannedAt === plannedAt;

/**
 * Runs one chunk and records it, unless it is recorded already: Step Functions may deliver a chunk
 * twice (a retried invocation), and a second run must not fetch a second set of images.
 */
export async function runChunk(
  task: ChunkTask,
  options: Options & Pick<RunOptions, 'deadlineAt' | 'onProgress' | 'cancel'>,
): Promise<ChunkSummary> {
  const { config, deps } = options;
  const { batchId, chunk } = task;
  const recordAt = chunkKey(config, batchId, chunk.chunk, chunk.retry);
  const recorded = await getJson<ChunkRecord>(deps.s3, config, recordAt);
  if (recorded) return recorded.summary;
  const status = await statusRecord(batchId, options);
  if (!runningPlan(status, task.startedAt)) throw new NotPlannedError(batchId, task.startedAt, status);

  const progressAt = progressKey(config, batchId, chunk.chunk, chunk.retry);
  const writeProgress = throttled((progress: ChunkProgress) => putJson(deps.s3, config, progressAt, progress));
  const { work, earlier } = await basisOf(batchId, chunk.retry, task.request.count, options);
  const indexes = work.slice(chunk.start, chunk.end);
  const photos = await planPhotos(task.request, batchId, options);
  const run = await runItems(task.request, indexes, {
    config,
    deps,
    batchId,
    photos: photos.pick,
    ledger: new PhotoLedger(earlier),
    ...(photos.pick ? { defer: fetchedElsewhere(photos.pick, work.all(), indexes, earlier) } : {}),
    concurrency: task.concurrency,
    deadlineAt: options.deadlineAt,
    ...(task.startedAt ? { batchStartedAt: Date.parse(task.startedAt) } : {}),
    ...(options.cancel ? { cancel: options.cancel } : {}),
    onProgress: (progress) => {
      options.onProgress?.(progress);
      writeProgress.offer({ chunk: chunk.chunk, ...progress });
    },
  });
  const { succeeded, failed, bytes } = tally(run.items);
  const summary: ChunkSummary = {
    ...chunk,
    done: run.items.length,
    succeeded,
    failed,
    bytes,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    catalog: photos.catalog,
  };
  await writeProgress.flush();
  // The record is the chunk's outcome: without it the aggregate counts every item of it as failed.
  const record: ChunkRecord = { summary, items: run.items, ...(run.deferred.length ? { deferred: run.deferred } : {}) };
  await putJson(deps.s3, config, recordAt, record);
  const finished: ChunkProgress = { chunk: chunk.chunk, done: summary.done, succeeded, failed: summary.failed };
  await putJson(deps.s3, config, progressAt, { ...finished, finished: true });
  return summary;
}

type WorkList = { slice(start: number, end: number): number[]; at(position: number): number; all(): number[] };

/**
 * What a run of the batch works from, read once: its items by position (for the batch's first run
 * every index, positions are indexes; for a retry run the unfinished items its claim lists), and
 * for a retry the manifest it retries, with the photos it already stored.
 */
async function basisOf(batchId: string, retry: number | undefined, count: number, options: Options) {
  if (retry === undefined) {
    const work: WorkList = { slice: indexRange, at: (position) => position, all: () => indexRange(0, count) };
    return { work, earlier: [] as [string, StoredPhoto][], retried: undefined };
  }
  const { claim, manifest } = await readRetry(batchId, retry, options);
  const { indexes } = claim;
  const work: WorkList = {
    slice: (start, end) => indexes.slice(start, end),
    // Stryker disable next-line LogicalOperator,UnaryOperator: a fallback the type needs; a chunk's positions are within its claim
    at: (position) => indexes[position] ?? -1,
    all: () => indexes,
  };
  return { work, earlier: storedPhotos(manifest.items), retried: manifest };
}

/**
 * Items of `here` whose photo's first item in the run is in another chunk (and not stored before):
 * chunks run side by side, so such an item cannot wait for it, and is left to the aggregate step.
 */
function fetchedElsewhere(
  pick: (index: number) => PhotoChoice | undefined,
  all: readonly number[],
  here: readonly number[],
  storedEarlier: readonly (readonly [string, unknown])[],
): (index: number) => boolean {
  // Stryker disable next-line OptionalChaining,StringLiteral: equivalent — a batch that reads the catalog picks a photo for every index; the fallback (an item its own photo) is for the type
  const photoOf = (index: number): string => pick(index)?.id ?? `#${index}`;
  const stored = new Set(storedEarlier.map(([photo]) => photo));
  const first = new Map<string, number>();
  for (const index of all) if (!first.has(photoOf(index))) first.set(photoOf(index), index);
  const inChunk = new Set(here);
  // Every index here is among `all`, so its photo has a first item.
  return (index) => !stored.has(photoOf(index)) && !inChunk.has(first.get(photoOf(index)) as number);
}

/** A chunk with no record: every item of it failed, with the reason saying why none is vouched for. */
function unrecorded(chunk: Chunk, work: Pick<WorkList, 'at'>): ItemOutcome[] {
  return Array.from({ length: chunk.end - chunk.start }, (_, offset) => ({
    index: work.at(chunk.start + offset),
    ok: false as const,
    reason: 'chunk_failed' as const,
    message: `Chunk ${chunk.chunk} (items ${chunk.start}-${chunk.end - 1}) did not finish`,
    attempts: 0,
    latencyMs: 0,
  }));
}

/**
 * Every item of the plan in index order, from the chunk records (in plan order, undefined where a
 * chunk left none: its items fail as `chunk_failed`), and when the last recorded chunk finished.
 */
export function joinChunks(
  plan: Pick<BatchPlan, 'chunks' | 'startedAt'>,
  records: readonly (ChunkRecord | undefined)[],
  work: Pick<WorkList, 'at'> = { at: (position) => position },
): { items: ItemOutcome[]; missingChunks: number[]; finishedAt: number } {
  const items: ItemOutcome[] = [];
  const missingChunks: number[] = [];
  let finishedAt = Date.parse(plan.startedAt);
  for (const [position, chunk] of plan.chunks.entries()) {
    const record = records[position];
    if (record) {
      for (const item of record.items) items.push(item);
      finishedAt = Math.max(finishedAt, Date.parse(record.summary.finishedAt));
    } else {
      for (const item of unrecorded(chunk, work)) items.push(item);
      missingChunks.push(chunk.chunk);
    }
  }
  return { items, missingChunks, finishedAt };
}

/**
 * Joins the chunk records into the batch's manifest and result, the same shape as a batch run in
 * one piece. Elapsed time runs from the plan to the last chunk's last write.
 */
export async function aggregateBatch(
  plan: BatchPlan,
  options: Options & { deadlineAt?: number },
): Promise<{ result: BatchResult; missingChunks: number[] }> {
  const { config, deps } = options;
  const status = await statusRecord(plan.batchId, options);
  // A step delivered again after the aggregate finished: the batch's result stands as recorded.
  if (status?.status === 'done' && status.result.startedAt === plan.startedAt) {
    return { result: status.result, missingChunks: [] };
  }
  if (!runningPlan(status, plan.startedAt)) throw new NotPlannedError(plan.batchId, plan.startedAt, status);
  const records = await pMap(
    plan.chunks,
    (chunk) => getJson<ChunkRecord>(deps.s3, config, chunkKey(config, plan.batchId, chunk.chunk, chunk.retry)),
    { concurrency: 16 },
  );
  const { work, earlier, retried } = await basisOf(plan.batchId, plan.retry?.run, plan.request.count, options);
  const joined = joinChunks(plan, records, work);
  const { missingChunks } = joined;
  let { items, finishedAt } = joined;
  const deferred = records.flatMap((record) => record?.deferred ?? []);
  if (deferred.length > 0) {
    // Their photos are in the bucket now (or failed): copy them, one download at most per photo.
    const late = await runDeferred(plan, deferred, [...earlier, ...storedPhotos(items)], options);
    items = [...items, ...late.items].sort((a, b) => a.index - b.index);
    finishedAt = Math.max(finishedAt, late.finishedAt.getTime());
  }
  const startedAt = new Date(plan.startedAt);
  const catalog =
    records.find((record) => record?.summary.catalog && 'unavailable' in record.summary.catalog)?.summary.catalog ??
    records.find((record) => record?.summary.catalog)?.summary.catalog;
  const run = {
    items,
    startedAt,
    finishedAt: new Date(finishedAt),
    elapsedMs: finishedAt - startedAt.getTime(),
    cancelled: items.some((item) => !item.ok && item.reason === 'cancelled'),
    ...(catalog ? { catalog } : {}),
  };
  const concurrency = plan.concurrency * plan.parallelChunks;
  let result: BatchResult;
  // Stryker disable next-line LogicalOperator: equivalent — basisOf reads a manifest to retry exactly when the plan is a retry's
  if (plan.retry && retried) {
    result = await finishRetry(
      retried,
      run,
      { run: plan.retry.run, concurrency, ...(catalog ? { catalog } : {}) },
      options,
    );
  } else {
    result = summarize(items, { ...run, batchId: plan.batchId, request: plan.request, concurrency, config });
    await writeManifest(result, plan.request, items, options);
  }
  // The status record answers GET without reading a manifest that may hold 100,000 items.
  await putStatus({ batchId: plan.batchId, status: 'done', result }, config, deps).catch(() => {});
  return { result, missingChunks };
}

/** The items the chunks left to the aggregate step, run now: copies of photos other chunks stored. */
async function runDeferred(
  plan: BatchPlan,
  deferred: number[],
  stored: [string, StoredPhoto][],
  options: Options & { deadlineAt?: number },
) {
  const photos = await planPhotos(plan.request, plan.batchId, options);
  return runItems(plan.request, deferred, {
    config: options.config,
    deps: options.deps,
    batchId: plan.batchId,
    concurrency: plan.concurrency,
    deadlineAt: options.deadlineAt ?? Date.now() + AGGREGATE_BUDGET_MS,
    batchStartedAt: Date.parse(plan.startedAt),
    photos: photos.pick,
    ledger: new PhotoLedger(stored),
  });
}

/** Time the aggregate step gives the items left to it, when its caller sets no deadline. */
const AGGREGATE_BUDGET_MS = 10 * 60_000;

/** A running chunked batch's counts so far, summed over its chunks' progress records. */
export async function chunkedProgress(
  status: Extract<BatchStatus, { status: 'running' }>,
  options: Options,
): Promise<BatchStatus> {
  const { config, deps } = options;
  const keys = await listKeys(deps.s3, config, progressPrefix(config, status.batchId, status.retry?.run));
  const records = await pMap(keys, (key) => getJson<ChunkProgress>(deps.s3, config, key), { concurrency: 16 });
  const counts = { done: 0, succeeded: 0, failed: 0 };
  let chunksDone = 0;
  for (const record of records) {
    if (!record) continue;
    counts.done += record.done;
    counts.succeeded += record.succeeded;
    counts.failed += record.failed;
    if (record.finished) chunksDone++;
  }
  return { ...status, ...counts, chunks: { total: status.chunks?.total ?? 0, done: chunksDone } };
}

/** Records a batch the state machine gave up on, so GET says so instead of "running" forever. */
export async function recordFailure(event: FailedEvent, options: Options): Promise<BatchStatus> {
  // A batch that finished stays finished: a late failure of a step delivered again does not undo it.
  const recorded = await statusRecord(event.batchId, options);
  if (recorded?.status === 'done' || recorded?.status === 'cancelled') return recorded;
  const status: BatchStatus = {
    batchId: event.batchId,
    status: 'failed',
    requested: event.requested,
    error: event.failure.Error ?? 'Unknown',
    cause: (event.failure.Cause ?? '').slice(0, 1000),
    failedAt: new Date().toISOString(),
  };
  await putStatus(status, options.config, options.deps);
  return status;
}

/**
 * The whole chunked path in this process, chunk after chunk: plan, every chunk, aggregate. What
 * `npm start` and the dev server run for a batch over CHUNK_SIZE, so the same code is exercised
 * without AWS.
 */
export async function runChunkedHere(
  job: BatchJob,
  options: Options & Pick<RunOptions, 'deadlineAt' | 'onProgress' | 'cancel'>,
): Promise<BatchResult> {
  const plan = await planBatch(job, 1, options);
  const before = { done: 0, succeeded: 0, failed: 0, cancelled: 0 };
  let cancelledHere = 0;
  for (const chunk of plan.chunks) {
    const summary = await runChunk(
      { batchId: plan.batchId, request: plan.request, concurrency: plan.concurrency, chunk, startedAt: plan.startedAt },
      {
        ...options,
        onProgress: (progress) => {
          // A chunk's summary has no cancelled count: its last progress holds it.
          cancelledHere = progress.cancelled ?? 0;
          options.onProgress?.({
            done: before.done + progress.done,
            succeeded: before.succeeded + progress.succeeded,
            failed: before.failed + progress.failed,
            ...(before.cancelled + cancelledHere > 0 ? { cancelled: before.cancelled + cancelledHere } : {}),
            total: jobSize(job),
          });
        },
      },
    );
    before.done += summary.done;
    before.succeeded += summary.succeeded;
    before.failed += summary.failed;
    before.cancelled += cancelledHere;
    cancelledHere = 0;
  }
  return (await aggregateBatch(plan, options)).result;
}
