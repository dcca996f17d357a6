import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import pMap from 'p-map';
import type { Config } from '../contracts/config.js';
import { type FailureReason, messageOf } from '../contracts/errors.js';
import type { BatchRequest } from '../contracts/request.js';
import { BufferPool } from '../pipeline/buffer-pool.js';
import { type Deps, type ItemOutcome, transferItem } from '../pipeline/item.js';
import { Semaphore } from '../pipeline/semaphore.js';
import { percentiles } from '../pipeline/stats.js';
import { batchPrefix, manifestKey, putJson } from '../storage/objects.js';

/** The result contract: the API's 200 body, the CLI's `--json` line and the schedule's return value. */
export type BatchResult = {
  batchId: string;
  status: 'done';
  requested: number;
  succeeded: number;
  failed: number;
  /** Batch start until the last image write finished. */
  elapsedMs: number;
  bytes: number;
  concurrency: number;
  bucket: string;
  prefix: string;
  manifestKey: string;
  /** Set when the manifest could not be written; the images listed as stored are still there. */
  manifestError?: string;
  failures: { index: number; reason: FailureReason; attempts: number; message: string }[];
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  startedAt: string;
  finishedAt: string;
};

/** `manifest.json`: the request, the result and every item. */
export type Manifest = {
  version: 1;
  batchId: string;
  request: BatchRequest;
  result: BatchResult;
  items: ItemOutcome[];
};

export type Progress = { done: number; succeeded: number; failed: number; total: number };

export type BatchOptions = {
  config: Config;
  deps: Deps;
  batchId?: string;
  /** Epoch ms by which every item must have finished; in-flight items are cut off as `timeout`. */
  deadlineAt: number;
  onProgress?: (progress: Progress) => void;
};

/** A new batch id: sortable by time, unique enough to never collide (`20261125T094207Z-3f9a1c2b`). */
export function newBatchId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/** Items `start` (included) to `end` (excluded) of a request: a whole batch, or one chunk of it. */
export type ItemRange = { start: number; end: number };

/** How a run of items went: every item's outcome, and when the run started and ended. */
export type ItemsRun = { items: ItemOutcome[]; startedAt: Date; finishedAt: Date; elapsedMs: number };

/**
 * Fetches and stores the items of `range` with `concurrency` in flight (default: the request's).
 * One item's failure never fails the run; at the deadline unfinished items end as `timeout` and
 * the run returns at once. Never rejects.
 */
export async function runItems(
  request: BatchRequest,
  range: ItemRange,
  options: BatchOptions & { batchId: string; concurrency?: number },
): Promise<ItemsRun> {
  const { config, deps, batchId } = options;
  const concurrency = options.concurrency ?? request.concurrency;
  const startedAt = new Date();
  const started = performance.now();
  const deadline = new AbortController();
  // Each item in flight listens for the deadline (request, upload, backoff): not a leak.
  setMaxListeners(concurrency * 4 + 10, deadline.signal);
  const remainingMs = options.deadlineAt - Date.now();
  const timer = setTimeout(() => deadline.abort(new Error('batch deadline')), Math.max(0, remainingMs));
  if (remainingMs <= 0) deadline.abort(new Error('batch deadline'));
  const progress: Progress = { done: 0, succeeded: 0, failed: 0, total: range.end - range.start };
  const context = {
    config,
    request,
    batchId,
    deps,
    uploads: new Semaphore(concurrency),
    buffers: new BufferPool(concurrency),
    signal: deadline.signal,
    deadlineAt: options.deadlineAt,
  };

  let items: ItemOutcome[];
  try {
    // p-map bounds the download stage; each mapper hands back its upload as a promise to await below.
    const started = await pMap(
      Array.from({ length: range.end - range.start }, (_, offset) => range.start + offset),
      async (index) => {
        const { outcome } = await transferItem(index, context);
        return {
          outcome: outcome.then((done) => {
            progress.done++;
            if (done.ok) progress.succeeded++;
            else progress.failed++;
            options.onProgress?.({ ...progress });
            return done;
          }),
        };
      },
      { concurrency },
    );
    items = await Promise.all(started.map((item) => item.outcome));
  } finally {
    clearTimeout(timer);
  }
  return { items, startedAt, finishedAt: new Date(), elapsedMs: Math.round(performance.now() - started) };
}

/** Images stored and their bytes, and one entry per failed item. */
export function tally(items: readonly ItemOutcome[]): {
  succeeded: number;
  bytes: number;
  failures: BatchResult['failures'];
} {
  let bytes = 0;
  const failures: BatchResult['failures'] = [];
  for (const item of items) {
    if (item.ok) bytes += item.bytes;
    else failures.push({ index: item.index, reason: item.reason, attempts: item.attempts, message: item.message });
  }
  return { succeeded: items.length - failures.length, bytes, failures };
}

/** The result of a batch from every item's outcome (in index order) and its timing. */
export function summarize(
  items: readonly ItemOutcome[],
  run: Omit<ItemsRun, 'items'> & { batchId: string; request: BatchRequest; concurrency: number; config: Config },
): BatchResult {
  const { batchId, config } = run;
  const { succeeded, bytes, failures } = tally(items);
  return {
    batchId,
    status: 'done',
    requested: run.request.count,
    succeeded,
    failed: failures.length,
    elapsedMs: run.elapsedMs,
    bytes,
    concurrency: run.concurrency,
    bucket: config.bucket,
    prefix: batchPrefix(config, batchId),
    manifestKey: manifestKey(config, batchId),
    failures,
    latencyMs: percentiles(items.map((item) => item.latencyMs)),
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
  };
}

/** Writes `manifest.json`; when that fails the result says so in `manifestError` (the images stay). */
export async function writeManifest(
  result: BatchResult,
  request: BatchRequest,
  items: ItemOutcome[],
  options: Pick<BatchOptions, 'config' | 'deps'>,
): Promise<BatchResult> {
  const manifest: Manifest = { version: 1, batchId: result.batchId, request, result, items };
  try {
    await putJson(options.deps.s3, options.config, result.manifestKey, manifest);
  } catch (error) {
    result.manifestError = messageOf(error);
  }
  return result;
}

/**
 * Fetches and stores `request.count` images with `request.concurrency` in flight, then writes the
 * manifest. One item's failure never fails the batch; at the deadline unfinished items end as
 * `timeout` and the result comes back at once.
 */
export async function runBatch(request: BatchRequest, options: BatchOptions): Promise<BatchResult> {
  const batchId = options.batchId ?? newBatchId();
  const run = await runItems(request, { start: 0, end: request.count }, { ...options, batchId });
  const result = summarize(run.items, {
    ...run,
    batchId,
    request,
    concurrency: request.concurrency,
    config: options.config,
  });
  return writeManifest(result, request, run.items, options);
}
