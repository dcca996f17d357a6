import type { Config } from '../contracts/config.js';
import { AppError, ConfigError, messageOf } from '../contracts/errors.js';
import type { BatchResult, Manifest } from '../contracts/result.js';
import type { Deps } from '../pipeline/item-context.js';
import type { RunOptions } from '../pipeline/run-items.js';
import { type BatchJob, jobSize } from './batch.js';
import { type BatchPage, listBatches } from './batch-list.js';
import { BatchRecords } from './batch-records.js';
import { chunkedProgress, runChunkedHere } from './chunked/index.js';
import { acceptedRecord, type BatchStatus, failedRecord, LOCAL_LEASE_MS, relaunchable, settled } from './lifecycle.js';
import { claimRetry, type RetryStart } from './retry-claim.js';
import { runJob } from './run-job.js';

/** Starts a job elsewhere: an asynchronous Lambda invocation or a state machine execution when deployed, in-process locally. */
export type Launcher = (job: BatchJob) => Promise<void>;

/**
 * Where batches that do not run here go: `job` for one up to CHUNK_SIZE (deployed, the runs
 * function's own invocation), `chunked` for larger ones (the batch state machine). An entry
 * without one of them cannot launch that kind; accepting such a batch records it as failed.
 */
export type Launchers = { job?: Launcher; chunked?: Launcher; heal?: HealLauncher };

/**
 * Starts a batch's healing `delaySeconds` from now, at most once per batch: deployed, an execution
 * of the batch state machine that waits, then sends the workflow function a heal event.
 */
export type HealLauncher = (heal: { batchId: string; delaySeconds: number }) => Promise<void>;

/** How a job runs in this invocation or process: its deadline, its cancellation, its progress; `lease` for a local process. */
export type RunHere = Pick<RunOptions, 'deadlineAt' | 'cancel' | 'onProgress'> & { lease?: boolean };

/** What starting a job came to: it ran here, or it is accepted (or was already known) and runs elsewhere. */
export type Started = { ranNow: true; result: BatchResult } | { ranNow: false; answer: BatchResult | BatchStatus };

/** A batch that ended: its result (done or cancelled), or its record when it failed as a whole. */
export type Ended = BatchResult | Extract<BatchStatus, { status: 'failed' }>;

/** Told of every batch that ends, once (deployed: its EventBridge event). Never throws. */
export type Announce = (ended: Ended) => Promise<void>;

/** A background batch could not be started (after the launcher's own retries); it is recorded as failed. */
export class LaunchError extends AppError {
  constructor(batchId: string, cause: unknown) {
    super('LAUNCH_FAILED', `Batch ${batchId} could not be started: ${messageOf(cause)}`, { cause });
    this.name = 'LaunchError';
  }
}

/**
 * The one place that decides how a batch runs, and that keeps its record. A job runs here when
 * its caller can wait for it (`hereUpTo` items: SYNC_MAX_COUNT for the API, CHUNK_SIZE for an
 * invocation of its own) and it fits one invocation; otherwise it is accepted and launched, as a
 * job of its own up to CHUNK_SIZE, on the chunked path beyond. A local process runs any job here,
 * chunk after chunk when it is over CHUNK_SIZE. The lifecycle and its timings are in lifecycle.ts;
 * every record goes through `records`.
 */
export class BatchService {
  readonly records: BatchRecords;

  constructor(
    readonly config: Config,
    readonly deps: Deps,
    private readonly launchers: Launchers = {},
    private readonly announce?: Announce,
  ) {
    this.records = new BatchRecords({ config, deps });
  }

  /** Whether `job` runs here for a caller that waits up to `hereUpTo` items. */
  runsHere(job: BatchJob, hereUpTo: number): boolean {
    return jobSize(job) <= Math.min(hereUpTo, this.config.chunkSize);
  }

  /** Runs `job` here when it may (see runsHere), else accepts and launches it. */
  async start(job: BatchJob, here: RunHere & { hereUpTo: number }): Promise<Started> {
    if (this.runsHere(job, here.hereUpTo)) return { ranNow: true, result: await this.run(job, here) };
    return { ranNow: false, answer: await this.accept(job) };
  }

  /**
   * Starts a job that may be delivered more than once (a background job, a schedule's run): one
   * whose manifest says it ran answers that result instead of fetching a second set of images (a
   * redelivered retry job finds its run in the manifest's `retries`); one to launch that is
   * recorded already is launched again only if its launch failed.
   */
  async startOnce(job: BatchJob, here: RunHere & { hereUpTo: number }): Promise<Started> {
    if (!this.runsHere(job, here.hereUpTo)) {
      const known = await this.status(job.batchId);
      if (known && !relaunchable(known)) return { ranNow: false, answer: known };
      return { ranNow: false, answer: await this.accept(job) };
    }
    const done = await this.records.manifest(job.batchId);
    if (done && (done.result.retries ?? 0) >= (job.retry?.run ?? 0)) return { ranNow: false, answer: done.result };
    return { ranNow: true, result: await this.run(job, here) };
  }

  /**
   * Runs `job` in this invocation or process, keeping its record (see runJob); over CHUNK_SIZE, the
   * chunked path's steps one after another (what `npm start` and the dev server do for such a batch).
   */
  async run(job: BatchJob, here: RunHere): Promise<BatchResult> {
    const { lease, ...run } = here;
    const options = { config: this.config, deps: this.deps, ...run };
    const result =
      jobSize(job) > this.config.chunkSize
        ? await runChunkedHere(job, options)
        : await runJob(job, lease ? { ...options, leaseMs: LOCAL_LEASE_MS } : options);
    await this.ended(result);
    return result;
  }

  /** Announces a batch that ended (see Announce): every run here does; the workflow's aggregate and failure steps call it. */
  async ended(ended: Ended): Promise<void> {
    await this.announce?.(ended);
  }

  /**
   * Records the job as accepted, then launches it. When the launch fails the batch is recorded as
   * failed (`launch_failed`, GET says so) and a LaunchError is thrown: accepting it again (the same
   * request with the same Idempotency-Key, or a redelivered schedule) launches it again.
   */
  async accept(job: BatchJob): Promise<BatchStatus> {
    const status = acceptedRecord(job);
    await this.records.putStatus(status);
    try {
      await this.launcherFor(job)(job);
    } catch (error) {
      const failure = new LaunchError(job.batchId, error);
      await this.records
        .putStatus(
          failedRecord({ batchId: job.batchId, requested: job.request.count }, 'launch_failed', failure.message),
        )
        .catch(() => {});
      throw failure;
    }
    return status;
  }

  private launcherFor(job: BatchJob): Launcher {
    const chunked = jobSize(job) > this.config.chunkSize;
    const launcher = chunked ? this.launchers.chunked : this.launchers.job;
    if (launcher) return launcher;
    return async () => {
      throw new ConfigError(
        chunked
          ? 'STATE_MACHINE_ARN is not set: batches over CHUNK_SIZE need the batch state machine'
          : 'RUNS_FUNCTION_NAME is not set: background batches need the function that runs them',
      );
    };
  }

  /**
   * Claims the one relaunch of a batch that never started (its launch failed, or nothing was
   * recorded for it): its status record is replaced by an accepted one only if it is still the
   * version read (If-Match), or still absent (If-None-Match). Of any number of repeats racing, one
   * wins and starts the batch; the others find it accepted. False when another repeat won, or the
   * batch has moved on.
   */
  async claimRelaunch(job: BatchJob): Promise<boolean> {
    const record = await this.records.statusVersioned(job.batchId);
    if (record && !relaunchable(record.value)) return false;
    return this.records.putStatusIfUnchanged(acceptedRecord(job), record?.etag);
  }

  /**
   * The batch's status: from its status record when that says done (a chunked batch, whose manifest
   * may be large), else from the manifest, else the record's state (summed over chunks for a chunked
   * batch; failed as `interrupted` once an accepted or running record has expired); undefined when
   * there is no such batch. `manifestOf`: how to read the manifest, when the caller reads it anyway.
   */
  async status(
    batchId: string,
    manifestOf: () => Promise<Manifest | undefined> = () => this.records.manifest(batchId),
  ): Promise<BatchStatus | undefined> {
    const status = await this.records.status(batchId);
    if (status?.status === 'done' || status?.status === 'cancelled') return status;
    const manifest = await manifestOf();
    if (manifest && !retryUnderway(status, manifest)) {
      return { batchId, status: manifest.result.status ?? 'done', result: manifest.result };
    }
    if (status?.status === 'running' && status.chunks) return chunkedProgress(status, this);
    return status && settled(status);
  }

  /** Claims the batch's next retry run (see claimRetry). */
  claimRetry(batchId: string): Promise<RetryStart> {
    return claimRetry(batchId, this);
  }

  /**
   * Heals a scheduled batch: its unfinished items retried by the same code as `POST
   * /batches/{batchId}/retry`, here up to `hereUpTo` of them, else launched. A batch with nothing left
   * to retry answers its result; one being retried already, its status.
   */
  async heal(batchId: string, here: RunHere & { hereUpTo: number }): Promise<Started> {
    const retry = await this.claimRetry(batchId);
    switch (retry.kind) {
      case 'claimed':
        return this.start(retry.job, here);
      case 'nothing':
        return { ranNow: false, answer: retry.result };
      case 'busy':
        return { ranNow: false, answer: retry.status };
      case 'unknown':
        throw new Error(`Cannot heal batch ${batchId}: there is no such batch`);
      case 'no-manifest':
        throw new Error(`Cannot heal batch ${batchId}: it ended without a manifest`);
      case 'other-source':
        throw new Error(`Cannot heal batch ${batchId}: it was fetched from ${retry.source}, not ${this.config.source}`);
    }
  }

  /**
   * Whether a run that just ended here heals itself: the first run of a scheduled batch that left
   * items failed, with HEAL_DELAY_S above 0 and a way to start it. A retry never heals again, so a
   * batch heals once.
   */
  needsHealing(job: Pick<BatchJob, 'scheduled' | 'retry'>, result: Pick<BatchResult, 'failed'>): boolean {
    return (
      job.scheduled === true &&
      job.retry === undefined &&
      result.failed > 0 &&
      this.config.healDelaySeconds > 0 &&
      this.launchers.heal !== undefined
    );
  }

  /** Starts the batch's healing after HEAL_DELAY_S (see needsHealing); throws when it cannot be started. */
  async healLater(batchId: string): Promise<void> {
    await this.launchers.heal?.({ batchId, delaySeconds: this.config.healDelaySeconds });
  }

  /** A page of the bucket's batches, newest first (see listBatches). */
  list(page: { limit?: number; cursor?: string } = {}): Promise<BatchPage> {
    return listBatches(this, page);
  }
}

/** Whether the status record is of a retry run that has not yet replaced the manifest, and may still be running. */
const retryUnderway = (status: BatchStatus | undefined, manifest: Manifest): boolean =>
  (status?.status === 'accepted' || status?.status === 'running') &&
  status.retry !== undefined &&
  status.retry.run > (manifest.result.retries ?? 0) &&
  settled(status) === status;
