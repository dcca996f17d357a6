import type { BatchResult } from '../contracts/result.js';
import { type BatchJob, type BatchOptions, runBatch } from './batch.js';
import { BatchRecords } from './batch-records.js';
import { refuseEndedRun } from './ended-runs.js';
import { RUNNING_GRACE_MS, runningRecord, throttled } from './lifecycle.js';
import { runRetry } from './retry.js';

/**
 * Runs a job in this invocation, keeping its status record current: `running` from the start, with
 * an expiry just past the deadline, so a batch whose invocation dies reads as interrupted rather
 * than running forever. The manifest marks it done. With `leaseMs` (a local process, which can die
 * long before its deadline), the expiry is a lease instead: `leaseMs` from each write, renewed
 * every third of it while the run lives.
 */
export async function runJob(
  job: BatchJob,
  options: Omit<BatchOptions, 'batchId'> & { leaseMs?: number },
): Promise<BatchResult> {
  const { leaseMs } = options;
  const records = new BatchRecords(options);
  const expiresAt = () =>
    new Date(leaseMs === undefined ? options.deadlineAt + RUNNING_GRACE_MS : Date.now() + leaseMs);
  // A retry delivered late or forged (never claimed, or merged already) writes nothing. A first run
  // needs no read here: its callers hold a fresh id, or found no manifest (BatchService.startOnce).
  if (job.retry) await refuseEndedRun(job, records);
  let counts = { done: 0, succeeded: 0, failed: 0 };
  const running = () => records.putStatus(runningRecord(job, counts, expiresAt()));
  // The first record goes out beside the first images, not before them: awaited, it held every
  // first image back by one PutObject. Like every progress write, a failed one does not fail the
  // batch; its items say what S3 did.
  const writer = throttled(running);
  writer.offer(undefined);
  const renewal = leaseMs === undefined ? undefined : setInterval(() => writer.offer(undefined), leaseMs / 3);
  renewal?.unref();
  const run: BatchOptions = {
    ...options,
    batchId: job.batchId,
    onProgress: (progress) => {
      options.onProgress?.(progress);
      const { total: _total, ...now } = progress;
      counts = now;
      writer.offer(undefined);
    },
  };
  try {
    const { retry } = job;
    const result = retry ? await runRetry({ ...job, retry }, run) : await runBatch(job.request, run);
    await writer.flush();
    return result;
  } finally {
    clearInterval(renewal);
  }
}
