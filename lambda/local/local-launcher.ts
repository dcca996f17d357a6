import { messageOf } from '../function/contracts/errors.js';
import type { BatchJob } from '../function/orchestration/batch.js';
import { runChunkedHere } from '../function/orchestration/chunked/index.js';
import { type Launcher, launcherBySize, runJob } from '../function/orchestration/jobs.js';
import type { BackgroundJobs } from './background-jobs.js';
import type { LocalRuntime } from './setup.js';

/** Locally there is no Lambda clock: a background batch gets Lambda's own maximum. */
const LOCAL_BUDGET_MS = 15 * 60_000;

/**
 * What launches a background batch in this process, as deployed: over SYNC_MAX_COUNT as a job (a
 * second Lambda invocation there), over CHUNK_SIZE chunk by chunk (the state machine's path, its
 * chunks one after another). Each runs on a lease (see runJob), so a batch of a process that was
 * killed reads as interrupted within a minute; `cancel` ends each with its manifest.
 */
export function localLauncher(
  runtime: Pick<LocalRuntime, 'config' | 'deps'>,
  options: {
    background: BackgroundJobs;
    cancel: AbortSignal;
    log: { error(message: string, ...extra: unknown[]): void };
  },
): Launcher {
  const inBackground = (runner: typeof runJob | typeof runChunkedHere) => async (job: BatchJob) => {
    const batch = {
      config: runtime.config,
      deps: runtime.deps,
      deadlineAt: Date.now() + LOCAL_BUDGET_MS,
      cancel: options.cancel,
      leaseMs: 60_000,
    };
    options.background.submit(() =>
      runner(job, batch).catch((error: unknown) =>
        options.log.error(`Background batch ${job.batchId} failed`, messageOf(error)),
      ),
    );
  };
  return launcherBySize(runtime.config, { whole: inBackground(runJob), chunked: inBackground(runChunkedHere) });
}
