import type { Config } from '../contracts/config.js';
import type { BatchResult } from '../contracts/result.js';
import type { Deps } from '../pipeline/item-context.js';
import { type BatchJob, jobSize } from './batch.js';
import { acceptJob, type Launcher, runJob } from './jobs.js';
import { claimRetry } from './retry-claim.js';
import type { BatchStatus } from './status.js';

/**
 * Starts a batch's healing `delaySeconds` from now, at most once per batch: deployed, an execution
 * of the batch state machine that waits, then sends the function a heal event.
 */
export type HealLauncher = (heal: { batchId: string; delaySeconds: number }) => Promise<void>;

/** The event a heal arrives as, once its delay has passed. */
export type HealEvent = { kind: 'picsum-batch.heal'; batchId: string };

/**
 * Whether a batch run that just ended heals itself: the first run of a scheduled batch that left
 * items failed, with HEAL_DELAY_S above 0. A retry never heals again, so a batch heals once.
 */
export const needsHealing = (
  job: Pick<BatchJob, 'scheduled' | 'retry'>,
  result: Pick<BatchResult, 'failed'>,
  config: Pick<Config, 'healDelaySeconds'>,
): boolean => job.scheduled === true && job.retry === undefined && result.failed > 0 && config.healDelaySeconds > 0;

/**
 * A heal: the batch's unfinished items retried by the same code as `POST /batches/{batchId}/retry`,
 * in this invocation up to CHUNK_SIZE of them, else on the state machine. A batch with nothing left
 * to retry answers its result; one being retried already, its status.
 */
export async function healBatch(
  event: HealEvent,
  options: { config: Config; deps: Deps; deadlineAt: number; launch: Launcher },
): Promise<{ ranNow: true; result: BatchResult } | { ranNow: false; answer: BatchResult | BatchStatus }> {
  const { config, deps } = options;
  const retry = await claimRetry(event.batchId, options);
  switch (retry.kind) {
    case 'claimed':
      if (jobSize(retry.job) > config.chunkSize) {
        return { ranNow: false, answer: await acceptJob(retry.job, config, deps, options.launch) };
      }
      return { ranNow: true, result: await runJob(retry.job, { config, deps, deadlineAt: options.deadlineAt }) };
    case 'nothing':
      return { ranNow: false, answer: retry.result };
    case 'busy':
      return { ranNow: false, answer: retry.status };
    case 'unknown':
      throw new Error(`Cannot heal batch ${event.batchId}: there is no such batch`);
    case 'no-manifest':
      throw new Error(`Cannot heal batch ${event.batchId}: it ended without a manifest`);
    case 'other-source':
      throw new Error(`Cannot heal batch ${event.batchId}: it was fetched from ${retry.source}, not ${config.source}`);
  }
}
