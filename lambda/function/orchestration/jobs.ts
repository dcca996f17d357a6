import type { Config } from '../contracts/config.js';
import { AppError, messageOf } from '../contracts/errors.js';
import type { BatchResult, Manifest } from '../contracts/result.js';
import type { Deps } from '../pipeline/item-context.js';
import { statusKey } from '../storage/keys.js';
import { getJson, getJsonVersioned, putJsonIfUnchanged } from '../storage/objects.js';
import { type BatchJob, type BatchOptions, jobSize, runBatch } from './batch.js';
import { chunkedProgress } from './chunked/index.js';
import { runRetry } from './retry.js';
import {
  ACCEPTED_WINDOW_MS,
  type BatchStatus,
  putStatus,
  RUNNING_GRACE_MS,
  readManifest,
  settled,
  throttled,
} from './status.js';

/** Starts a job elsewhere: an asynchronous Lambda invocation or a state machine execution when deployed, in-process locally. */
export type Launcher = (job: BatchJob) => Promise<void>;

/** A background batch could not be started (after the launcher's own retries); it is recorded as failed. */
export class LaunchError extends AppError {
  constructor(batchId: string, cause: unknown) {
    super('LAUNCH_FAILED', `Batch ${batchId} could not be started: ${messageOf(cause)}`, { cause });
    this.name = 'LaunchError';
  }
}

/** Batches over CHUNK_SIZE go to the chunked launcher (Step Functions), the others to `whole`. */
export function launcherBySize(config: Pick<Config, 'chunkSize'>, launchers: { whole: Launcher; chunked: Launcher }) {
  return (job: BatchJob): Promise<void> =>
    jobSize(job) > config.chunkSize ? launchers.chunked(job) : launchers.whole(job);
}

/**
 * Records the job as accepted, then launches it. When the launch fails the batch is recorded as
 * failed (`launch_failed`, GET says so) and a LaunchError is thrown: accepting it again (the same
 * request with the same Idempotency-Key, or a redelivered schedule) launches it again.
 */
export async function acceptJob(job: BatchJob, config: Config, deps: Deps, launch: Launcher): Promise<BatchStatus> {
  const status = acceptedStatus(job);
  await putStatus(status, config, deps);
  try {
    await launch(job);
  } catch (error) {
    const failure = new LaunchError(job.batchId, error);
    const failed: BatchStatus = {
      batchId: job.batchId,
      status: 'failed',
      requested: job.request.count,
      error: 'launch_failed',
      cause: failure.message.slice(0, 1000),
      failedAt: new Date().toISOString(),
    };
    await putStatus(failed, config, deps).catch(() => {});
    throw failure;
  }
  return status;
}

/** The record of a job accepted now: it must start within ACCEPTED_WINDOW_MS, or reads as interrupted. */
function acceptedStatus(job: BatchJob, now = Date.now()): BatchStatus {
  return {
    batchId: job.batchId,
    status: 'accepted',
    requested: job.request.count,
    acceptedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + ACCEPTED_WINDOW_MS).toISOString(),
    ...(job.retry ? { retry: job.retry } : {}),
  };
}

/** Whether a recorded batch may be launched again: only one whose launch failed. */
export const relaunchable = (status: BatchStatus | undefined): boolean =>
  status?.status === 'failed' && status.error === 'launch_failed';

/**
 * Claims the one relaunch of a batch that never started (its launch failed, or nothing was
 * recorded for it): its status record is replaced by an accepted one only if it is still the
 * version read (If-Match), or still absent (If-None-Match). Of any number of repeats racing, one
 * wins and starts the batch; the others find it accepted. False when another repeat won, or the
 * batch has moved on.
 */
export async function claimRelaunch(job: BatchJob, config: Config, deps: Deps): Promise<boolean> {
  const key = statusKey(config, job.batchId);
  const record = await getJsonVersioned<BatchStatus>(deps.s3, config, key);
  if (record && !relaunchable(record.value)) return false;
  return putJsonIfUnchanged(deps.s3, config, key, acceptedStatus(job), record?.etag);
}

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
  const { config, deps, leaseMs } = options;
  const expiresAt = () =>
    new Date(leaseMs === undefined ? options.deadlineAt + RUNNING_GRACE_MS : Date.now() + leaseMs).toISOString();
  let counts = { done: 0, succeeded: 0, failed: 0 };
  const running = (): BatchStatus => ({
    batchId: job.batchId,
    status: 'running',
    requested: job.request.count,
    ...counts,
    expiresAt: expiresAt(),
    ...(job.retry ? { retry: job.retry } : {}),
  });
  await putStatus(running(), config, deps);
  const writer = throttled(() => putStatus(running(), config, deps));
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

/**
 * Runs a job unless its manifest says it already ran: a scheduled run retried by EventBridge
 * Scheduler carries the same batch id, and must not fetch a second set of images; a redelivered
 * retry job finds its run in the manifest's `retries`.
 */
export async function runJobOnce(
  job: BatchJob,
  options: Omit<BatchOptions, 'batchId'>,
): Promise<{ result: BatchResult; ranNow: boolean }> {
  const done = await readManifest(job.batchId, options.config, options.deps);
  if (done && (done.result.retries ?? 0) >= (job.retry?.run ?? 0)) return { result: done.result, ranNow: false };
  return { result: await runJob(job, options), ranNow: true };
}

/** Whether the status record is of a retry run that has not yet replaced the manifest, and may still be running. */
const retryUnderway = (status: BatchStatus | undefined, manifest: Manifest): boolean =>
  (status?.status === 'accepted' || status?.status === 'running') &&
  status.retry !== undefined &&
  status.retry.run > (manifest.result.retries ?? 0) &&
  settled(status) === status;

/**
 * The batch's status: from its status record when that says done (a chunked batch, whose manifest
 * may be large), else from the manifest, else the record's state (summed over chunks for a chunked
 * batch; failed as `interrupted` once an accepted or running record has expired); undefined when
 * there is no such batch. `manifest`: how to read the manifest, when the caller reads it anyway.
 */
export async function readStatus(
  batchId: string,
  config: Config,
  deps: Deps,
  manifestOf: () => Promise<Manifest | undefined> = () => readManifest(batchId, config, deps),
): Promise<BatchStatus | undefined> {
  const status = await getJson<BatchStatus>(deps.s3, config, statusKey(config, batchId));
  if (status?.status === 'done' || status?.status === 'cancelled') return status;
  const manifest = await manifestOf();
  if (manifest && !retryUnderway(status, manifest)) {
    return { batchId, status: manifest.result.status ?? 'done', result: manifest.result };
  }
  if (status?.status === 'running' && status.chunks) return chunkedProgress(status, { config, deps });
  return status && settled(status);
}
