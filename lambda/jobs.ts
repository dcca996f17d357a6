import type { BatchOptions, BatchResult, Manifest } from './batch.js';
import { runBatch } from './batch.js';
import type { Config } from './config.js';
import type { Deps } from './item.js';
import type { BatchRequest } from './request.js';
import { batchPrefix, getJson, manifestKey, putJson } from './store.js';

/** A batch accepted for background work (202). */
export type BatchJob = { batchId: string; request: BatchRequest };

/** Starts a job elsewhere: an asynchronous Lambda invocation when deployed, in-process locally. */
export type Launcher = (job: BatchJob) => Promise<void>;

/** What `GET /batches/{batchId}` answers. */
export type BatchStatus =
  | { batchId: string; status: 'accepted'; requested: number; acceptedAt: string }
  | { batchId: string; status: 'running'; requested: number; done: number; succeeded: number; failed: number }
  | { batchId: string; status: 'done'; result: BatchResult };

const statusKey = (config: Config, batchId: string) => `${batchPrefix(config, batchId)}status.json`;

/** Records the job as accepted, then launches it. */
export async function acceptJob(job: BatchJob, config: Config, deps: Deps, launch: Launcher): Promise<void> {
  const status: BatchStatus = {
    batchId: job.batchId,
    status: 'accepted',
    requested: job.request.count,
    acceptedAt: new Date().toISOString(),
  };
  await putJson(deps.s3, config, statusKey(config, job.batchId), status);
  await launch(job);
}

/** How often a running job rewrites its status record: often enough to watch, rarely enough to cost nothing. */
const PROGRESS_INTERVAL_MS = 2_000;

/** Runs an accepted job, keeping its status record current; the manifest marks it done. */
export async function runJob(
  job: BatchJob,
  options: Omit<BatchOptions, 'batchId' | 'onProgress'>,
): Promise<BatchResult> {
  const { config, deps } = options;
  let lastWrite = 0;
  let writing: Promise<void> = Promise.resolve();
  const onProgress: BatchOptions['onProgress'] = (progress) => {
    const now = Date.now();
    if (now - lastWrite < PROGRESS_INTERVAL_MS) return;
    lastWrite = now;
    const { total, ...counts } = progress;
    const status: BatchStatus = { batchId: job.batchId, status: 'running', requested: total, ...counts };
    // Progress is best effort: a failed status write must not fail the batch.
    writing = writing.then(() => putJson(deps.s3, config, statusKey(config, job.batchId), status).catch(() => {}));
  };
  const result = await runBatch(job.request, { ...options, batchId: job.batchId, onProgress });
  await writing;
  return result;
}

/**
 * Runs a job unless its manifest says it already ran: a scheduled run retried by EventBridge
 * Scheduler carries the same batch id, and must not fetch a second set of images.
 */
export async function runJobOnce(
  job: BatchJob,
  options: Omit<BatchOptions, 'batchId' | 'onProgress'>,
): Promise<{ result: BatchResult; ranNow: boolean }> {
  const done = await readManifest(job.batchId, options.config, options.deps);
  if (done) return { result: done.result, ranNow: false };
  return { result: await runJob(job, options), ranNow: true };
}

const readManifest = (batchId: string, config: Config, deps: Deps) =>
  getJson<Manifest>(deps.s3, config, manifestKey(config, batchId));

/** The job's status: done (from the manifest), running or accepted (from the status record), or undefined. */
export async function readStatus(batchId: string, config: Config, deps: Deps): Promise<BatchStatus | undefined> {
  const manifest = await readManifest(batchId, config, deps);
  if (manifest) return { batchId, status: 'done', result: manifest.result };
  return getJson<BatchStatus>(deps.s3, config, statusKey(config, batchId));
}
