import type { Config } from '../contracts/config.js';
import type { BatchRequest } from '../contracts/request.js';
import type { Deps } from '../pipeline/item.js';
import { getJson, manifestKey } from '../storage/objects.js';
import type { BatchOptions, BatchResult, Manifest } from './batch.js';
import { runBatch } from './batch.js';
import { chunkedProgress } from './chunks.js';
import { type BatchStatus, putStatus, statusKey, throttled } from './status.js';

export type { BatchStatus } from './status.js';

/** A batch accepted for background work (202). */
export type BatchJob = { batchId: string; request: BatchRequest };

/** Starts a job elsewhere: an asynchronous Lambda invocation when deployed, in-process locally. */
export type Launcher = (job: BatchJob) => Promise<void>;

/** Batches over CHUNK_SIZE go to the chunked launcher (Step Functions), the others to `whole`. */
export function launcherBySize(config: Pick<Config, 'chunkSize'>, launchers: { whole: Launcher; chunked: Launcher }) {
  return (job: BatchJob): Promise<void> =>
    job.request.count > config.chunkSize ? launchers.chunked(job) : launchers.whole(job);
}

/** Records the job as accepted, then launches it. */
export async function acceptJob(job: BatchJob, config: Config, deps: Deps, launch: Launcher): Promise<void> {
  const status: BatchStatus = {
    batchId: job.batchId,
    status: 'accepted',
    requested: job.request.count,
    acceptedAt: new Date().toISOString(),
  };
  await putStatus(status, config, deps);
  await launch(job);
}

/** Runs an accepted job, keeping its status record current; the manifest marks it done. */
export async function runJob(
  job: BatchJob,
  options: Omit<BatchOptions, 'batchId' | 'onProgress'>,
): Promise<BatchResult> {
  const { config, deps } = options;
  const writer = throttled((status: BatchStatus) => putStatus(status, config, deps));
  const onProgress: BatchOptions['onProgress'] = ({ total, ...counts }) =>
    writer.offer({ batchId: job.batchId, status: 'running', requested: total, ...counts });
  const result = await runBatch(job.request, { ...options, batchId: job.batchId, onProgress });
  await writer.flush();
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

/**
 * The batch's status: from its status record when that says done (a chunked batch, whose manifest
 * may be large), else from the manifest, else the record's accepted or running state (summed over
 * chunks for a chunked batch); undefined when there is no such batch.
 */
export async function readStatus(batchId: string, config: Config, deps: Deps): Promise<BatchStatus | undefined> {
  const status = await getJson<BatchStatus>(deps.s3, config, statusKey(config, batchId));
  if (status?.status === 'done') return status;
  const manifest = await readManifest(batchId, config, deps);
  if (manifest) return { batchId, status: 'done', result: manifest.result };
  if (status?.status === 'running' && status.chunks) return chunkedProgress(status, { config, deps });
  return status;
}
