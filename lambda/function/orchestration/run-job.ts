import type { BatchResult } from '../contracts/result.js';
import { type BatchJob, type BatchOptions, runBatch } from './batch.js';
import { BatchRecords } from './batch-records.js';
import { refuseEndedRun } from './ended-runs.js';
import { runningRecord, throttled } from './lifecycle.js';
import { runRetry } from './retry.js';

/**
 * Runs a job in this invocation or process, keeping its run record current: `running`, with its
 * request (so a retry can finish it if the process dies first), until the manifest marks it done.
 */
export async function runJob(job: BatchJob, options: Omit<BatchOptions, 'batchId'>): Promise<BatchResult> {
  const records = new BatchRecords(options);
  // A retry delivered late or forged (never claimed, or merged already) writes nothing. A first run
  // needs no read here: its callers hold a fresh id, or found no manifest.
  if (job.retry) await refuseEndedRun(job, records);
  const startedAt = new Date().toISOString();
  let counts = { done: 0, succeeded: 0, failed: 0 };
  // The first record goes out beside the first images, not before them: awaited, it held every
  // first image back by one PutObject. Like every progress write, a failed one does not fail the
  // batch; its items say what S3 did.
  const writer = throttled(() => records.putStatus(runningRecord(job, counts, startedAt)));
  writer.offer(undefined);
  const run: BatchOptions = {
    ...options,
    batchId: job.batchId,
    onProgress: (progress) => {
      options.onProgress?.(progress);
      const { total: _total, cancelled: _cancelled, ...now } = progress;
      counts = now;
      writer.offer(undefined);
    },
  };
  const { retry } = job;
  const result = retry ? await runRetry({ ...job, retry }, run) : await runBatch(job.request, run);
  await writer.flush();
  return result;
}
