import type { Config } from '../contracts/config.js';
import type { Deps } from '../pipeline/item.js';
import { batchPrefix, putJson } from '../storage/objects.js';
import type { BatchResult } from './batch.js';

/** What `GET /batches/{batchId}` answers. */
export type BatchStatus =
  | { batchId: string; status: 'accepted'; requested: number; acceptedAt: string }
  | {
      batchId: string;
      status: 'running';
      requested: number;
      done: number;
      succeeded: number;
      failed: number;
      /** Batches split into chunks: how many there are and how many have finished. */
      chunks?: { total: number; done: number };
    }
  | { batchId: string; status: 'done'; result: BatchResult }
  /** A chunked batch whose plan or aggregate step failed for good (the state machine says why). */
  | { batchId: string; status: 'failed'; requested: number; error: string; cause: string; failedAt: string };

export const statusKey = (config: Config, batchId: string) => `${batchPrefix(config, batchId)}status.json`;

export const putStatus = (status: BatchStatus, config: Config, deps: Deps) =>
  putJson(deps.s3, config, statusKey(config, status.batchId), status);

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
