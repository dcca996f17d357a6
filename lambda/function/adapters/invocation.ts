// What every entry's invocation shares: its batch service, log and metrics, its clock, its refusals.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { BatchResult } from '../contracts/result.js';
import type { BatchJob } from '../orchestration/batch.js';
import type { BatchService } from '../orchestration/batch-service.js';
import { type MetricsSink, recordBatch } from './metrics.js';

/** Everything an invocation needs, made once per cold start (see handlers/). */
export type Invocation = { batches: BatchService; log: Logger; metrics: MetricsSink };

/** The invocation's deadline: 5 s before Lambda stops it, to write the manifest and return. */
export const deadlineFor = (context: Context) => Date.now() + context.getRemainingTimeInMillis() - 5_000;

/**
 * Starts an invocation's log (keys never outlive their invocation) and parses its event with the
 * entry's own parser; a refused event is logged and thrown, and nothing starts.
 */
export function begin<T>(app: Invocation, context: Context, parse: () => T): T {
  app.log.resetKeys();
  app.log.addContext(context);
  try {
    return parse();
  } catch (error) {
    app.log.error('Event refused', { error });
    throw error;
  }
}

/**
 * After a batch ran here: its metrics, and a scheduled batch left with failed items heals once.
 * Starting the heal may fail; that is logged and leaves the batch as it ran (the items stay failed
 * in the manifest, a retry can still be asked for): never a failed run.
 */
export async function afterRun(job: Pick<BatchJob, 'scheduled' | 'retry'>, result: BatchResult, app: Invocation) {
  recordBatch(app.metrics, result);
  if (!app.batches.needsHealing(job, result)) return;
  try {
    await app.batches.healLater(result.batchId);
    const { healDelaySeconds } = app.batches.config;
    app.log.info('Batch left items failed; retrying them once after the delay', { delaySeconds: healDelaySeconds });
  } catch (error) {
    app.log.error('Could not start the batch healing itself', { error });
  }
}
