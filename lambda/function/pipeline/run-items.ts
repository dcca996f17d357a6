import pMap from 'p-map';
import type { Config } from '../contracts/config.js';
import type { BatchRequest } from '../contracts/request.js';
import { type BatchResult, type ItemOutcome, MAX_LISTED_FAILURES, type Progress } from '../contracts/result.js';
import { BufferPool } from './buffer-pool.js';
import { runItem } from './item.js';
import { type Deps, type ItemContext, RunStopped } from './item-context.js';
import type { PhotoLedger } from './photo-ledger.js';
import { uploadSlots } from './upload-slots.js';

/** Indexes `start` (included) to `end` (excluded): a whole batch, or one chunk of it. */
export const indexRange = (start: number, end: number): number[] =>
  Array.from({ length: Math.max(0, end - start) }, (_, offset) => start + offset);

/** How a run of items went: every item's outcome, and when the run started and ended. */
export type ItemsRun = {
  items: ItemOutcome[];
  startedAt: Date;
  finishedAt: Date;
  elapsedMs: number;
  /** Whether it was cancelled before every item ran. */
  cancelled: boolean;
  /** Items left for later (`defer`): their photo is fetched by another chunk of the batch. */
  deferred: number[];
};

export type RunOptions = {
  config: Config;
  deps: Deps;
  batchId: string;
  /** Requests in flight (default: the request's concurrency). */
  concurrency?: number;
  /** Epoch ms by which every item must have finished; in-flight items are cut off as `timeout`. */
  deadlineAt: number;
  /**
   * Cancels the run (Ctrl-C, SIGTERM): no item starts after it, downloads in flight are aborted,
   * bodies already whole are still written; every unfinished item ends as `cancelled`.
   */
  cancel?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Epoch ms the batch started, when it began before this run (a chunk's): timelines count from it. */
  batchStartedAt?: number;
  /** The photo each item is, chosen from picsum's catalog (unset: picsum's own routes choose). */
  photos?: ItemContext['photos'];
  /** One download per photo: a later item of a photo copies the first one's object. */
  ledger?: PhotoLedger;
  /** Items not to run here (their photo's first item is in another chunk): listed in `deferred`. */
  defer?: (index: number) => boolean;
};

/**
 * Fetches and stores the items at `indexes` (in that order; a range, or the unfinished items a retry
 * runs again) with `concurrency` in flight. One item's failure never
 * fails the run; at the deadline unfinished items end as `timeout` and the run returns at once.
 * Never rejects.
 */
export async function runItems(
  request: BatchRequest,
  indexes: readonly number[],
  options: RunOptions,
): Promise<ItemsRun> {
  const { config, deps, batchId } = options;
  const concurrency = options.concurrency ?? request.concurrency;
  const startedAt = new Date();
  const started = performance.now();
  const deadline = new AbortController();
  const stop = new AbortController();
  const onDeadline = () => {
    // Stryker disable next-line StringLiteral: equivalent — any reason but 'cancelled' reads as the deadline
    const reason = new RunStopped('timeout');
    deadline.abort(reason);
    stop.abort(reason);
  };
  const onCancel = () => stop.abort(new RunStopped('cancelled'));
  const remainingMs = options.deadlineAt - Date.now();
  const timer = setTimeout(onDeadline, Math.max(0, remainingMs));
  if (remainingMs <= 0) onDeadline();
  options.cancel?.addEventListener('abort', onCancel);
  if (options.cancel?.aborted) onCancel();
  const deferred: number[] = [];
  const runHere: number[] = [];
  for (const index of indexes) (options.defer?.(index) ? deferred : runHere).push(index);
  // `cancelled` appears once an item is cancelled: the counts of a run nobody stops keep their shape.
  const progress: Progress = { done: 0, succeeded: 0, failed: 0, total: runHere.length };
  const context: ItemContext = {
    config,
    request,
    batchId,
    deps,
    uploads: uploadSlots(concurrency, stop.signal),
    buffers: new BufferPool(concurrency),
    stop: stop.signal,
    deadline: deadline.signal,
    deadlineAt: options.deadlineAt,
    batchStartedAt: options.batchStartedAt ?? startedAt.getTime(),
    photos: options.photos,
    ledger: options.ledger,
  };

  let items: ItemOutcome[];
  try {
    // p-map bounds the download stage; each mapper hands back its upload as a promise to await below.
    const started = await pMap(
      runHere,
      async (index) => {
        const { outcome } = await runItem(index, context);
        return {
          outcome: outcome.then((done) => {
            progress.done++;
            if (done.ok) progress.succeeded++;
            else progress.failed++;
            if (!done.ok && done.reason === 'cancelled') progress.cancelled = (progress.cancelled ?? 0) + 1;
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
    options.cancel?.removeEventListener('abort', onCancel);
  }
  const cancelled = stop.signal.reason instanceof RunStopped && stop.signal.reason.reason === 'cancelled';
  return {
    items,
    startedAt,
    finishedAt: new Date(),
    elapsedMs: Math.round(performance.now() - started),
    cancelled,
    deferred,
  };
}

/** Images stored and their bytes, failures counted by reason, and the first few failed items. */
export function tally(
  items: readonly ItemOutcome[],
): Pick<BatchResult, 'succeeded' | 'failed' | 'bytes' | 'failures' | 'failureCounts'> {
  let bytes = 0;
  let failed = 0;
  const failures: BatchResult['failures'] = [];
  const failureCounts: BatchResult['failureCounts'] = {};
  for (const item of items) {
    if (item.ok) {
      bytes += item.bytes;
      continue;
    }
    failed++;
    failureCounts[item.reason] = (failureCounts[item.reason] ?? 0) + 1;
    if (failures.length < MAX_LISTED_FAILURES) {
      failures.push({ index: item.index, reason: item.reason, attempts: item.attempts, message: item.message });
    }
  }
  return { succeeded: items.length - failed, failed, bytes, failures, failureCounts };
}
