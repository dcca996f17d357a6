import type { Context } from 'aws-lambda';
import type { Progress } from '../contracts/result.js';
import type { BatchJob } from '../orchestration/batch.js';
import {
  type AggregateSummary,
  aggregateBatch,
  type BatchPlan,
  type ChunkSummary,
  planBatch,
  recordFailure,
  runChunk,
} from '../orchestration/chunked/index.js';
import type { BatchStatus } from '../orchestration/lifecycle.js';
import { scheduledJob } from '../orchestration/schedule.js';
import { parseStepEvent } from './entry-events.js';
import { begin, deadlineFor, type Invocation } from './invocation.js';
import { recordBatch } from './metrics.js';

export type StepAnswer = BatchJob | { batchId: string } | BatchPlan | ChunkSummary | AggregateSummary | BatchStatus;

/** What a local engine adds to a step's run: the process's cancellation, and each chunk's progress. */
export type LocalStep = { cancel?: AbortSignal; onChunkProgress?: (chunk: number, progress: Progress) => void };

/**
 * The workflow function's answer to one step of the batch state machine: admit the schedule's run
 * envelope, plan, one chunk, aggregate, record a failure, or claim a scheduled batch's heal. Each
 * returns a few bytes of state: Step Functions keeps at most 256 KB.
 */
export async function answerStepEvent(
  event: unknown,
  context: Context,
  app: Invocation,
  local: LocalStep = {},
): Promise<StepAnswer> {
  const { batches, log } = app;
  const step = begin(app, context, () => parseStepEvent(event, batches.config));
  const options = { config: batches.config, deps: batches.deps };
  switch (step.kind) {
    case 'picsum-batch.run': {
      const job = scheduledJob(step);
      log.appendKeys({ batchId: job.batchId });
      log.info('Run admitted', { requested: job.request.count });
      return job;
    }
    case 'picsum-batch.plan':
      log.appendKeys({ batchId: step.job.batchId });
      return planBatch(step.job, batches.config.mapMaxConcurrency, { ...options, execution: step.execution });
    case 'picsum-batch.chunk': {
      const { chunk } = step.task.chunk;
      log.appendKeys({ batchId: step.task.batchId, chunk });
      const { cancel, onChunkProgress } = local;
      const summary = await runChunk(step.task, {
        ...options,
        deadlineAt: deadlineFor(context),
        ...(cancel ? { cancel } : {}),
        ...(onChunkProgress ? { onProgress: (progress: Progress) => onChunkProgress(chunk, progress) } : {}),
      });
      log.info('Chunk finished', { succeeded: summary.succeeded, failed: summary.failed });
      return summary;
    }
    case 'picsum-batch.aggregate': {
      log.appendKeys({ batchId: step.plan.batchId });
      const { result, missingChunks, again } = await aggregateBatch(step.plan, {
        ...options,
        deadlineAt: deadlineFor(context),
      });
      // A step delivered again finds the batch aggregated: it ended once, and is announced once.
      if (!again) await batches.ended(result);
      recordBatch(app.metrics, result);
      const { batchId, requested, succeeded, failed, elapsedMs, manifestKey } = result;
      log.info('Batch finished', { succeeded, failed, elapsedMs, missingChunks });
      return { batchId, requested, succeeded, failed, elapsedMs, manifestKey, missingChunks };
    }
    case 'picsum-batch.failed': {
      log.appendKeys({ batchId: step.batchId });
      log.error('Batch failed', { failure: step.failure });
      const { status, again } = await recordFailure(step, options);
      if (!again && status.status === 'failed') await batches.ended(status);
      return status;
    }
    case 'picsum-batch.heal': {
      log.appendKeys({ batchId: step.batchId });
      const healing = await batches.claimHeal(step.batchId);
      if ('request' in healing) log.info('Batch left items failed; retrying them once', { retry: healing.retry });
      else log.info('Batch has nothing to heal, or a retry of it runs already');
      return healing;
    }
  }
}
