import { type BatchEvent, batchEvent } from '../function/adapters/batch-events.js';
import { messageOf } from '../function/contracts/errors.js';
import type { BatchJob } from '../function/orchestration/batch.js';
import { BatchService, type Ended } from '../function/orchestration/batch-service.js';
import type { BackgroundJobs } from './background-jobs.js';
import type { LocalRuntime } from './setup.js';

/** Locally there is no Lambda clock: a background batch gets Lambda's own maximum. */
const LOCAL_BUDGET_MS = 15 * 60_000;

/**
 * The batch service of a local server: what it launches runs in this process in the background,
 * as deployed it would in the runs function (over SYNC_MAX_COUNT) or on the state machine (over
 * CHUNK_SIZE, here its chunks one after another). Each runs on a lease, so a batch of a process
 * that was killed reads as interrupted within a minute; `cancel` ends each with its manifest.
 */
export function localBatches(
  runtime: Pick<LocalRuntime, 'config' | 'deps'>,
  options: {
    background: BackgroundJobs;
    cancel: AbortSignal;
    log: { error(message: string, ...extra: unknown[]): void };
    /** Shown each batch's event as it ends: locally nothing goes to EventBridge, so the server prints them. */
    showEvent?: (event: BatchEvent) => void;
  },
): BatchService {
  const inBackground = async (job: BatchJob) => {
    const here = { deadlineAt: Date.now() + LOCAL_BUDGET_MS, cancel: options.cancel, lease: true };
    options.background.submit(() =>
      batches
        .run(job, here)
        .catch((error: unknown) => options.log.error(`Background batch ${job.batchId} failed`, messageOf(error))),
    );
  };
  const { showEvent } = options;
  const announce = showEvent ? async (ended: Ended) => showEvent(batchEvent(ended, runtime.config)) : undefined;
  const launchers = { job: inBackground, chunked: inBackground };
  const batches = new BatchService(runtime.config, runtime.deps, launchers, announce);
  return batches;
}
