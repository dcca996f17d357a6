// A batch's lifecycle, the one place its states are defined:
//
//   (started) ──> running ──> done | cancelled      (the manifest is written)
//                    │
//                    └──> failed                     (its execution failed: a step given up on, a timeout, an abort)
//
// A batch on the state machine reads as `accepted` from its execution's start to its plan, and
// as running only while its execution runs (see BatchService.status). A run record with no live
// run behind it reads `unfinished`: nothing claims it runs, and a retry finishes it.
import type { BatchRequest } from '../contracts/request.js';
import type { BatchFailure, BatchStatus, RetryRun } from '../contracts/result.js';

export type { BatchStatus } from '../contracts/result.js';

/** How often a running batch rewrites its progress: often enough to watch, rarely enough to cost nothing. */
export const PROGRESS_INTERVAL_MS = 2_000;

/** Past this, a batch run inside a request has surely ended: its request is over (API Gateway's 29 s, and a margin). */
export const IN_REQUEST_MS = 35_000;

/** What a job is, for its records: its batch, its request and which retry run it is. */
type JobOf = { batchId: string; request: BatchRequest; retry?: RetryRun };

/**
 * `status.json` while a run goes: its status, and the request it runs, so a run whose process died
 * can be finished by a retry (the request is not part of the status a reader is answered).
 */
export type RunRecord = Extract<BatchStatus, { status: 'running' }> & { request?: BatchRequest; startedAt?: string };

/** What `status.json` holds: a run record, or how the batch ended. */
export type StatusRecord = RunRecord | Exclude<BatchStatus, { status: 'running' }>;

/** The record of a job running in one invocation (or process), with its counts so far. */
export const runningRecord = (
  job: JobOf,
  counts: { done: number; succeeded: number; failed: number },
  startedAt: string,
): RunRecord => ({
  batchId: job.batchId,
  status: 'running',
  requested: job.request.count,
  ...counts,
  ...(job.retry ? { retry: job.retry } : {}),
  request: job.request,
  startedAt,
});

/** The record of a run planned at `plannedAt` by `execution`: it runs until its aggregate step, or its failure step, writes. */
export const plannedRecord = (job: JobOf, chunks: number, plannedAt: string, execution: string): RunRecord => ({
  batchId: job.batchId,
  status: 'running',
  requested: job.request.count,
  done: 0,
  succeeded: 0,
  failed: 0,
  execution,
  chunks: { total: chunks, done: 0 },
  plannedAt,
  ...(job.retry ? { retry: job.retry } : {}),
  request: job.request,
  startedAt: plannedAt,
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

/** A run record as its readers are answered: without the request it keeps for a retry. */
export function statusOf(record: RunRecord): Extract<BatchStatus, { status: 'running' }> {
  const { request: _request, startedAt: _startedAt, ...status } = record;
  return status;
}

/** A run record with nothing running it: `why` says what was found. */
export const unfinishedStatus = (record: RunRecord, why: string): BatchStatus => ({
  batchId: record.batchId,
  status: 'unfinished',
  requested: record.requested,
  startedAt: record.startedAt ?? record.plannedAt ?? '',
  cause: `${why}; a retry finishes it`,
  ...(record.retry ? { retry: record.retry } : {}),
});

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
