import type { Config } from '../contracts/config.js';
import type { BatchStatus, Manifest } from '../contracts/result.js';
import type { Deps } from '../pipeline/item-context.js';
import { manifestKey, statusKey } from '../storage/keys.js';
import { getJson, putJson } from '../storage/objects.js';

export type { BatchStatus } from '../contracts/result.js';

/**
 * How long an accepted background batch may wait to start: Lambda keeps an asynchronous event for
 * an hour at most (the function's maxEventAge), then drops it to the failed-runs queue.
 */
export const ACCEPTED_WINDOW_MS = 65 * 60_000;

/** Past its deadline, how long a batch has to write its manifest before it counts as interrupted. */
export const RUNNING_GRACE_MS = 60_000;

/** A batch's manifest: the one record of every item once it ran (or a retry of it did). */
export const readManifest = (batchId: string, config: Config, deps: Deps) =>
  getJson<Manifest>(deps.s3, config, manifestKey(config, batchId));

export const putStatus = (status: BatchStatus, config: Config, deps: Deps) =>
  putJson(deps.s3, config, statusKey(config, status.batchId), status);

/**
 * The status as it stands at `now`: an accepted or running record past its expiry, with no
 * manifest to say the batch finished, means the invocation that owned it died (or never started).
 */
export function settled(status: BatchStatus, now = Date.now()): BatchStatus {
  if (status.status !== 'accepted' && status.status !== 'running') return status;
  if (status.expiresAt === undefined || Date.parse(status.expiresAt) > now) return status;
  return {
    batchId: status.batchId,
    status: 'failed',
    requested: status.requested,
    error: 'interrupted',
    cause:
      status.status === 'accepted'
        ? `The batch was accepted but never started before ${status.expiresAt}`
        : `The invocation running the batch stopped before it wrote a manifest (expected by ${status.expiresAt})`,
    failedAt: status.expiresAt,
  };
}

/** How often a running job rewrites its progress: often enough to watch, rarely enough to cost nothing. */
const PROGRESS_INTERVAL_MS = 2_000;

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
