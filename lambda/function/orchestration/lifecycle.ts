// A batch's lifecycle, the one place its states and their timings are defined:
//
//   accepted ──> running ──> done | cancelled      (the manifest is written)
//      │            │
//      └────────────┴──> failed                     (launch_failed, interrupted, or a step given up on)
//
// An accepted or running record carries an expiry; read past it with no manifest, it is failed
// (`interrupted`): whatever owned the batch died, and nothing claims it still runs.
import type { BatchRequest } from '../contracts/request.js';
import type { BatchFailure, BatchStatus, RetryRun } from '../contracts/result.js';

export type { BatchStatus } from '../contracts/result.js';

/**
 * How long an accepted background batch may wait to start: Lambda keeps an asynchronous event for
 * an hour at most (the function's maxEventAge), then drops it to the failed-runs queue.
 */
export const ACCEPTED_WINDOW_MS = 65 * 60_000;

/** Past its deadline, how long a batch has to write its manifest before it counts as interrupted. */
export const RUNNING_GRACE_MS = 60_000;

/**
 * A local run's lease: its running record expires this long after it was last renewed (every third
 * of it), so a batch whose process was killed reads as interrupted within a minute.
 */
export const LOCAL_LEASE_MS = 60_000;

/**
 * How long a claim counts as a run getting started: an Idempotency-Key's batch with no status
 * record, or a retry claim with no run underway, this long after its claim never started.
 */
export const CLAIM_GRACE_MS = 60_000;

/** How often a running batch rewrites its progress: often enough to watch, rarely enough to cost nothing. */
export const PROGRESS_INTERVAL_MS = 2_000;

/** What a job is, for its records: its batch, its size and which retry run it is. */
type JobOf = { batchId: string; request: Pick<BatchRequest, 'count'>; retry?: RetryRun };

/** The record of a job accepted at `now`: it must start within ACCEPTED_WINDOW_MS, or reads as interrupted. */
export const acceptedRecord = (job: JobOf, now = Date.now()): BatchStatus => ({
  batchId: job.batchId,
  status: 'accepted',
  requested: job.request.count,
  acceptedAt: new Date(now).toISOString(),
  expiresAt: new Date(now + ACCEPTED_WINDOW_MS).toISOString(),
  ...(job.retry ? { retry: job.retry } : {}),
});

/** The record of a job running in one invocation (or process) until `expiresAt`, with its counts so far. */
export const runningRecord = (
  job: JobOf,
  counts: { done: number; succeeded: number; failed: number },
  expiresAt: Date,
): BatchStatus => ({
  batchId: job.batchId,
  status: 'running',
  requested: job.request.count,
  ...counts,
  expiresAt: expiresAt.toISOString(),
  ...(job.retry ? { retry: job.retry } : {}),
});

/** The record of a chunked run planned at `plannedAt`: it runs until its aggregate step, or its failure step, writes. */
export const plannedRecord = (job: JobOf, chunks: number, plannedAt: string): BatchStatus => ({
  batchId: job.batchId,
  status: 'running',
  requested: job.request.count,
  done: 0,
  succeeded: 0,
  failed: 0,
  chunks: { total: chunks, done: 0 },
  plannedAt,
  ...(job.retry ? { retry: job.retry } : {}),
});

/** The record of a batch that ended without a manifest. */
export const failedRecord = (
  batch: { batchId: string; requested: number },
  error: BatchFailure,
  cause: string,
  failedAt = new Date().toISOString(),
): BatchStatus => ({
  batchId: batch.batchId,
  status: 'failed',
  requested: batch.requested,
  error,
  cause: cause.slice(0, 1000),
  failedAt,
});

/**
 * The status as it stands at `now`: an accepted or running record past its expiry, with no
 * manifest to say the batch finished, means the invocation that owned it died (or never started).
 */
export function settled(status: BatchStatus, now = Date.now()): BatchStatus {
  // Only accepted and running records carry an expiry (a chunked run's does not: its steps end it).
  // Stryker disable next-line LogicalOperator,ConditionalExpression: equivalent — the `in` check is for the types; no other record has `expiresAt`
  if (!('expiresAt' in status) || status.expiresAt === undefined || Date.parse(status.expiresAt) > now) return status;
  return failedRecord(
    status,
    'interrupted',
    status.status === 'accepted'
      ? `The batch was accepted but never started before ${status.expiresAt}`
      : `The invocation running the batch stopped before it wrote a manifest (expected by ${status.expiresAt})`,
    status.expiresAt,
  );
}

/** Whether a recorded batch may be launched again: only one whose launch failed. */
export const relaunchable = (status: BatchStatus | undefined): boolean =>
  status?.status === 'failed' && status.error === 'launch_failed';

/**
 * A best-effort writer for progress records: at most one write per interval, in order, and a failed
 * write never fails the batch. `flush` waits for the writes offered so far.
 */
export function throttled<T>(write: (value: T) => Promise<void>, intervalMs = PROGRESS_INTERVAL_MS) {
  let lastWrite = 0;
  let writing: Promise<void> = Promise.resolve();
  return {
    offer(value: T): void {
      const now = Date.now();
      if (now - lastWrite < intervalMs) return;
      lastWrite = now;
      writing = writing.then(() => write(value).catch(() => {}));
    },
    flush: (): Promise<void> => writing,
  };
}
