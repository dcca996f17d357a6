import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import pMap from 'p-map';
import { BufferPool } from './buffer-pool.js';
import type { Config } from './config.js';
import { type FailureReason, messageOf } from './errors.js';
import { type Deps, type ItemOutcome, transferItem } from './item.js';
import type { BatchRequest } from './request.js';
import { Semaphore } from './semaphore.js';
import { percentiles } from './stats.js';
import { batchPrefix, manifestKey, putJson } from './store.js';

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

/**
 * Fetches and stores `request.count` images with `request.concurrency` in flight, then writes the
 * manifest. One item's failure never fails the batch; at the deadline unfinished items end as
 * `timeout` and the result comes back at once.
 */
export async function runBatch(request: BatchRequest, options: BatchOptions): Promise<BatchResult> {
  const { config, deps } = options;
  const batchId = options.batchId ?? newBatchId();
  const startedAt = new Date();
  const started = performance.now();
  const deadline = new AbortController();
  // Each item in flight listens for the deadline (request, upload, backoff): not a leak.
  setMaxListeners(request.concurrency * 4 + 10, deadline.signal);
  const remainingMs = options.deadlineAt - Date.now();
  const timer = setTimeout(() => deadline.abort(new Error('batch deadline')), Math.max(0, remainingMs));
  if (remainingMs <= 0) deadline.abort(new Error('batch deadline'));
  const progress: Progress = { done: 0, succeeded: 0, failed: 0, total: request.count };
  const context = {
    config,
    request,
    batchId,
    deps,
    uploads: new Semaphore(request.concurrency),
    buffers: new BufferPool(request.concurrency),
    signal: deadline.signal,
    deadlineAt: options.deadlineAt,
  };

  let items: ItemOutcome[];
  try {
    // p-map bounds the download stage; each mapper hands back its upload as a promise to await below.
    const started = await pMap(
      Array.from({ length: request.count }, (_, index) => index),
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
      { concurrency: request.concurrency },
    );
    items = await Promise.all(started.map((item) => item.outcome));
  } finally {
    clearTimeout(timer);
  }
  const elapsedMs = Math.round(performance.now() - started);

  let bytes = 0;
  const failures: BatchResult['failures'] = [];
  for (const item of items) {
    if (item.ok) bytes += item.bytes;
    else failures.push({ index: item.index, reason: item.reason, attempts: item.attempts, message: item.message });
  }
  const result: BatchResult = {
    batchId,
    status: 'done',
    requested: request.count,
    succeeded: request.count - failures.length,
    failed: failures.length,
    elapsedMs,
    bytes,
    concurrency: request.concurrency,
    bucket: config.bucket,
    prefix: batchPrefix(config, batchId),
    manifestKey: manifestKey(config, batchId),
    failures,
    latencyMs: percentiles(items.map((item) => item.latencyMs)),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  };
  const manifest: Manifest = { version: 1, batchId, request, result, items };
  try {
    await putJson(deps.s3, config, result.manifestKey, manifest);
  } catch (error) {
    result.manifestError = messageOf(error);
  }
  return result;
}
