import type { Config } from '../../lambda/function/contracts/config.js';
import type { BatchResult, Progress } from '../../lambda/function/contracts/result.js';
import type { BatchJob } from '../../lambda/function/orchestration/batch.js';
import { jobSize } from '../../lambda/function/orchestration/batch.js';
import type { Deps } from '../../lambda/function/pipeline/item-context.js';
import { composeLocal, runOnEngine } from '../../lambda/local/setup.js';

/**
 * Runs `job` to its end on the batch state machine's own definition in this process (what `npm
 * start` does beyond SYNC_MAX_COUNT): Plan, the chunks, Aggregate, through the workflow handler.
 */
export async function runOnLocalEngine(
  job: BatchJob,
  options: {
    config: Config;
    deps: Deps;
    cancel?: AbortSignal;
    onProgress?: (progress: Progress) => void;
    /** Unused: each step keeps the local engine's own clock, as a deployed step has its function's timeout. */
    deadlineAt?: number;
  },
): Promise<BatchResult> {
  const app = composeLocal(options.config, options.deps, options.cancel ? { cancel: options.cancel } : {});
  const { onProgress } = options;
  try {
    return await runOnEngine(
      app,
      job,
      onProgress &&
        ((counts) => {
          const { cancelled, ...rest } = counts;
          onProgress({ ...rest, ...(cancelled ? { cancelled } : {}), total: jobSize(job) });
        }),
    );
  } finally {
    await app.stopBatches();
  }
}
