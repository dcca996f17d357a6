import type { Config } from '../contracts/config.js';
import { AppError, ConfigError, messageOf } from '../contracts/errors.js';
import type { BatchDeleted, BatchResult, Manifest } from '../contracts/result.js';
import type { Deps } from '../pipeline/item-context.js';
import type { RunOptions } from '../pipeline/run-items.js';
import { type BatchJob, type BatchOptions, jobSize, runBatch } from './batch.js';
import { type BatchLinks, batchLinks } from './batch-links.js';
import { type BatchPage, listBatches } from './batch-list.js';
import { BatchRecords } from './batch-records.js';
import { chunkedProgress } from './chunked/progress.js';
import { refuseEndedRun } from './ended-runs.js';
import { type BatchEngine, type Execution, ExecutionExistsError, executionOf } from './engine.js';
import {
  type BatchStatus,
  failedRecord,
  IN_REQUEST_MS,
  type RunRecord,
  runningRecord,
  statusOf,
  throttled,
  unfinishedStatus,
} from './lifecycle.js';
import { runRetry } from './retry.js';
import { claimRetry, type RetryStart } from './retry-claim.js';

/** How a job runs in this invocation or process: its deadline, its cancellation, its progress. */
export type RunHere = Pick<RunOptions, 'deadlineAt' | 'cancel' | 'onProgress'>;

/** What starting a job came to: it ran here, or it is started on the engine (or was already known). */
export type Started = { ranNow: true; result: BatchResult } | { ranNow: false; answer: BatchResult | BatchStatus };

/** A batch that ended: its result (done or cancelled), or its record when it failed as a whole. */
export type Ended = BatchResult | Extract<BatchStatus, { status: 'failed' }>;

/** Told of every batch that ends, once (deployed: its EventBridge event). Never throws. */
export type Announce = (ended: Ended) => Promise<void>;

/** A batch the engine would not start (after the SDK's own retries). Nothing is recorded: repeating the request starts it. */
export class LaunchError extends AppError {
  constructor(batchId: string, cause: unknown) {
    super('LAUNCH_FAILED', `Batch ${batchId} could not be started: ${messageOf(cause)}`, { cause });
    this.name = 'LaunchError';
  }
}

/**
 * The one place that decides how a batch runs, and reads its status. A job runs here when its
 * caller can wait for it (`hereUpTo` items: SYNC_MAX_COUNT for the API) and it fits one invocation;
 * otherwise it is started on the engine (the batch state machine), as an execution named after it.
 * Every record goes through `records`; the engine keeps the state of what runs on it.
 */
export class BatchService {
  readonly records: BatchRecords;
  /** Batches running here, in this invocation or process: their run records are live. */
  private readonly runningHere = new Set<string>();

  constructor(
    readonly config: Config,
    readonly deps: Deps,
    private readonly engine?: BatchEngine,
    private readonly announce?: Announce,
  ) {
    this.records = new BatchRecords({ config, deps });
  }

  /** Whether `job` runs here for a caller that waits up to `hereUpTo` items. */
  runsHere(job: BatchJob, hereUpTo: number): boolean {
    return jobSize(job) <= Math.min(hereUpTo, this.config.chunkSize);
  }

  /** Runs `job` here when it may (see runsHere), else starts it on the engine. */
  async start(job: BatchJob, here: RunHere & { hereUpTo: number }): Promise<Started> {
    if (this.runsHere(job, here.hereUpTo)) return { ranNow: true, result: await this.run(job, here) };
    return { ranNow: false, answer: await this.accept(job) };
  }

  /**
   * Runs `job` in this invocation or process, keeping its run record (see runJob), and announces
   * its end. A retry delivered late or forged (never claimed, or merged already) writes nothing.
   */
  async run(job: BatchJob, here: RunHere): Promise<BatchResult> {
    if (job.retry) await refuseEndedRun(job, this.records);
    this.runningHere.add(job.batchId);
    try {
      const result = await runJob(job, { config: this.config, deps: this.deps, ...here });
      await this.ended(result);
      return result;
    } finally {
      this.runningHere.delete(job.batchId);
    }
  }

  /** Announces a batch that ended (see Announce): every run here does; the workflow's aggregate and failure steps call it. */
  async ended(ended: Ended): Promise<void> {
    await this.announce?.(ended);
  }

  /**
   * Starts the job on the engine, as the execution named after it: nothing is written first. A
   * repeat (the same Idempotency-Key, a redelivery) starts nothing twice, and one that comes after
   * the batch's execution ended is answered its status; a start that failed throws LaunchError and
   * can be repeated.
   */
  async accept(job: BatchJob): Promise<BatchStatus> {
    const { engine } = this;
    try {
      if (!engine)
        throw new ConfigError('STATE_MACHINE_ARN is not set: batches beyond one request need the batch state machine');
      await engine.start(executionOf(job), job);
    } catch (error) {
      // A start that raced an earlier one of the same batch, which ran already: the batch's status answers it.
      const known = error instanceof ExecutionExistsError ? await this.status(job.batchId) : undefined;
      if (known) return known;
      throw new LaunchError(job.batchId, error);
    }
    return {
      batchId: job.batchId,
      status: 'accepted',
      requested: job.request.count,
      acceptedAt: new Date().toISOString(),
      ...(job.retry ? { retry: job.retry } : {}),
    };
  }

  /**
   * Deletes every object of a batch that nothing runs (see BatchRecords.deleteBatch): refused while
   * it is accepted or running, or unfinished so recently that it may still run inside its request.
   * A batch already gone is deleted again, removing nothing: deleting is idempotent.
   */
  async delete(batchId: string): Promise<{ removal: BatchDeleted } | { running: BatchStatus }> {
    const status = await this.status(batchId);
    const mayRun =
      status?.status === 'accepted' ||
      status?.status === 'running' ||
      (status?.status === 'unfinished' && Date.now() - Date.parse(status.startedAt) < IN_REQUEST_MS);
    if (status && mayRun) return { running: status };
    return { removal: { batchId, status: 'deleted', deleted: await this.records.deleteBatch(batchId) } };
  }

  /** Presigned URLs of a finished batch (see batchLinks); undefined where nothing here signs URLs. */
  links(manifest: Manifest): Promise<BatchLinks | undefined> {
    return batchLinks(manifest, { config: this.config, deps: this.deps, records: this.records });
  }

  /** What the engine knows of an execution; undefined without an engine, or for a name it never started. */
  describe(name: string): Promise<Execution | undefined> {
    return this.engine?.describe(name) ?? Promise.resolve(undefined);
  }

  /**
   * The batch's status: done from its status record or its manifest; while a run goes, from its run
   * record checked against what runs it (its execution, or this process); before its execution
   * planned anything, from the execution itself. Undefined when there is no such batch.
   * `manifestOf`: how to read the manifest, when the caller reads it anyway.
   */
  async status(
    batchId: string,
    manifestOf: () => Promise<Manifest | undefined> = () => this.records.manifest(batchId),
  ): Promise<BatchStatus | undefined> {
    const record = await this.records.status(batchId);
    if (record?.status === 'done' || record?.status === 'cancelled') return record;
    const manifest = await manifestOf();
    const running = record?.status === 'running' ? record : undefined;
    const retryUnderway = running !== undefined && (running.retry?.run ?? 0) > (manifest?.result.retries ?? 0);
    if (manifest && !retryUnderway) {
      return { batchId, status: manifest.result.status ?? 'done', result: manifest.result };
    }
    if (running) return this.runStatus(running);
    if (record) return record;
    const execution = await this.describe(executionOf({ batchId }));
    return execution && executionStatus(batchId, execution);
  }

  /** A run record's status: running while what runs it lives, else failed (its execution failed) or unfinished. */
  private async runStatus(record: RunRecord): Promise<BatchStatus> {
    if (record.execution === undefined) {
      if (this.runningHere.has(record.batchId)) return statusOf(record);
      return unfinishedStatus(
        record,
        'It ran inside a request or a process that is not running it here, and wrote no manifest',
      );
    }
    const execution = await this.describe(record.execution);
    if (execution === undefined) {
      return unfinishedStatus(
        record,
        `Its execution ${record.execution} is not one the engine knows (the process that ran it stopped)`,
      );
    }
    if (execution.status === 'RUNNING') {
      const status = statusOf(record);
      return status.chunks ? chunkedProgress(status, this) : status;
    }
    if (execution.status === 'SUCCEEDED') {
      return unfinishedStatus(record, `Its execution ${record.execution} succeeded, and no manifest stands`);
    }
    return failedExecution(record, execution, '');
  }

  /** Claims the batch's next retry run (see claimRetry). */
  claimRetry(batchId: string): Promise<RetryStart> {
    return claimRetry(batchId, this);
  }

  /**
   * The heal of a scheduled batch (its state machine's ClaimHeal step): a retry run of its unfinished
   * items, claimed as `POST /batches/{batchId}/retry` claims one, for the machine to plan; or no job
   * (just the batch id) when there is nothing left to heal, or a retry of it runs already.
   */
  async claimHeal(batchId: string): Promise<BatchJob | { batchId: string }> {
    const retry = await this.claimRetry(batchId);
    switch (retry.kind) {
      case 'claimed':
        return { ...retry.job, scheduled: true };
      case 'nothing':
      case 'busy':
        return { batchId };
      default:
        throw new AppError('NOTHING_TO_RETRY', `Cannot heal batch ${batchId}: ${retry.kind}`);
    }
  }

  /** A page of the bucket's batches, newest first (see listBatches). */
  list(page: { limit?: number; cursor?: string } = {}): Promise<BatchPage> {
    return listBatches(this, page);
  }
}

/**
 * Runs a job here, keeping its run record current: `running`, with its request (so a retry can
 * finish it if the process dies first), until the manifest marks it done.
 */
async function runJob(job: BatchJob, options: Omit<BatchOptions, 'batchId'>): Promise<BatchResult> {
  const records = new BatchRecords(options);
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

/** A batch with nothing recorded yet, as its execution tells it: started (not yet planned), or failed. */
function executionStatus(batchId: string, execution: Execution): BatchStatus | undefined {
  const requested = execution.requested ?? 0;
  if (execution.status === 'RUNNING')
    return { batchId, status: 'accepted', requested, acceptedAt: execution.startedAt };
  if (execution.status === 'SUCCEEDED') return undefined;
  return failedExecution(
    { batchId, requested },
    execution,
    `Its execution ended ${execution.status} before it planned the batch`,
  );
}

/** A batch whose execution stopped without success: Step Functions' error (or the status itself) and cause, when it stopped. */
const failedExecution = (batch: { batchId: string; requested: number }, execution: Execution, noCause: string) =>
  failedRecord(batch, execution.error ?? execution.status, execution.cause ?? noCause, execution.stoppedAt);
