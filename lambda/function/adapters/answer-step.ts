import type { Context } from 'aws-lambda';
import type { BatchResult } from '../contracts/result.js';
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
import { parseStepEvent } from './entry-events.js';
import { afterRun, begin, deadlineFor, type Invocation } from './invocation.js';
import { recordBatch } from './metrics.js';

export type StepAnswer = BatchPlan | ChunkSummary | AggregateSummary | BatchStatus | BatchResult;

/**
 * The workflow function's answer to one step of the batch state machine: plan, one chunk,
 * aggregate, record a failure, or heal a scheduled batch after its delay. Each returns a few bytes
 * of state: Step Functions keeps at most 256 KB.
 */
export async function answerStepEvent(event: unknown, context: Context, app: Invocation): Promise<StepAnswer> {
  const { batches, log } = app;
  const step = begin(app, context, () => parseStepEvent(event, batches.config));
  const options = { config: batches.config, deps: batches.deps };
  switch (step.kind) {
    case 'picsum-batch.plan':
      log.appendKeys({ batchId: step.job.batchId });
      return planBatch(step.job, batches.config.mapMaxConcurrency, options);
    case 'picsum-batch.chunk': {
      log.appendKeys({ batchId: step.task.batchId, chunk: step.task.chunk.chunk });
      const summary = await runChunk(step.task, { ...options, deadlineAt: deadlineFor(context) });
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
      await afterRun(step.plan, result, app);
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
      const healed = await batches.heal(step.batchId, {
        hereUpTo: batches.config.chunkSize,
        deadlineAt: deadlineFor(context),
      });
      if (!healed.ranNow) {
        log.info('Batch heal started nothing here', { status: healed.answer.status });
        return healed.answer;
      }
      // A heal is a retry run: it never heals again.
      recordBatch(app.metrics, healed.result);
      const { succeeded, failed, retries } = healed.result;
      log.info('Batch healed', { succeeded, failed, retries });
      return healed.result;
    }
  }
}
