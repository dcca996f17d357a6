import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import type { Config } from '../contracts/config.js';
import type { BatchResult } from '../contracts/result.js';
import { jobSize } from '../orchestration/batch.js';
import {
  type AggregateSummary,
  aggregateBatch,
  type BatchPlan,
  type ChunkSummary,
  planBatch,
  recordFailure,
  runChunk,
  type WorkflowEvent,
} from '../orchestration/chunked/index.js';
import { type HealLauncher, healBatch, needsHealing } from '../orchestration/heal.js';
import { acceptJob, type Launcher, readStatus, relaunchable, runJobOnce } from '../orchestration/jobs.js';
import { scheduledJob } from '../orchestration/schedule.js';
import type { BatchStatus } from '../orchestration/status.js';
import type { Deps } from '../pipeline/item-context.js';
import { checkEvent } from './event-checks.js';
import { recognizeEvent } from './events.js';
import { handleApiEvent } from './http-api/router.js';
import { type MetricsSink, recordBatch } from './metrics.js';

/** Everything an invocation needs, made once per cold start (see handler.ts). */
export type App = {
  config: Config;
  deps: Deps;
  log: Logger;
  metrics: MetricsSink;
  launch: Launcher;
  /** Starts a scheduled batch's healing retry after its delay (unset: batches never heal). */
  heal?: HealLauncher;
};

export type Answer = APIGatewayProxyResult | BatchResult | BatchStatus | BatchPlan | ChunkSummary | AggregateSummary;

// Keep 5 s after the deadline to write the manifest and return.
const deadlineFor = (context: Context) => Date.now() + context.getRemainingTimeInMillis() - 5_000;

/** The state machine's steps: plan, one chunk, aggregate, record a failure. Each returns a few bytes of state. */
async function runWorkflowStep(event: WorkflowEvent, context: Context, app: App): Promise<Answer> {
  const { config, deps, log } = app;
  switch (event.kind) {
    case 'picsum-batch.plan':
      log.appendKeys({ batchId: event.job.batchId });
      return planBatch(event.job, config.mapMaxConcurrency, { config, deps });
    case 'picsum-batch.chunk': {
      log.appendKeys({ batchId: event.task.batchId, chunk: event.task.chunk.chunk });
      const summary = await runChunk(event.task, { config, deps, deadlineAt: deadlineFor(context) });
      log.info('Chunk finished', { succeeded: summary.succeeded, failed: summary.failed });
      return summary;
    }
    case 'picsum-batch.aggregate': {
      log.appendKeys({ batchId: event.plan.batchId });
      const { result, missingChunks } = await aggregateBatch(event.plan, {
        config,
        deps,
        deadlineAt: deadlineFor(context),
      });
      recordBatch(app.metrics, result);
      if (needsHealing(event.plan, result, config)) await startHealing(result.batchId, app);
      const { batchId, requested, succeeded, failed, elapsedMs, manifestKey } = result;
      log.info('Batch finished', { succeeded, failed, elapsedMs, missingChunks });
      return { batchId, requested, succeeded, failed, elapsedMs, manifestKey, missingChunks };
    }
    case 'picsum-batch.failed':
      log.appendKeys({ batchId: event.batchId });
      log.error('Batch failed', { failure: event.failure });
      return recordFailure(event, { config, deps });
  }
}

/**
 * Answers one invocation: API Gateway proxy events, this function's own background jobs, the
 * batch state machine's steps and run envelopes (the schedule's), each checked by the API's rules
 * before anything is read. Anything else, or anything whose contents do not check out, is refused
 * with an error naming what arrived, and starts nothing. Log keys never outlive their invocation.
 */
export async function routeEvent(event: unknown, context: Context, app: App): Promise<Answer> {
  const { config, deps, log } = app;
  log.resetKeys();
  log.addContext(context);
  let recognized: ReturnType<typeof recognizeEvent>;
  try {
    recognized = checkEvent(recognizeEvent(event), config);
  } catch (error) {
    log.error('Event refused', { error });
    throw error;
  }
  switch (recognized.type) {
    case 'api': {
      const remainingMs = context.getRemainingTimeInMillis();
      const onResult = (result: BatchResult) => recordBatch(app.metrics, result);
      return handleApiEvent(recognized.event, { config, deps, remainingMs, launch: app.launch, log, onResult });
    }
    case 'workflow':
      return runWorkflowStep(recognized.event, context, app);
    case 'job':
    case 'run': {
      const job = recognized.type === 'job' ? recognized.event.job : scheduledJob(recognized.event, config);
      log.appendKeys({ batchId: job.batchId });
      if (jobSize(job) > config.chunkSize) {
        // A run too large for one invocation goes to the state machine, once per scheduled time;
        // one whose launch failed is launched again by the next delivery.
        const known = await readStatus(job.batchId, config, deps);
        if (known && !relaunchable(known)) return known;
        const accepted = await acceptJob(job, config, deps, app.launch);
        log.info('Batch accepted', { requested: job.request.count });
        return accepted;
      }
      const { result, ranNow } = await runJobOnce(job, { config, deps, deadlineAt: deadlineFor(context) });
      if (ranNow) recordBatch(app.metrics, result);
      if (ranNow && needsHealing(job, result, config)) await startHealing(job.batchId, app);
      log.info(ranNow ? 'Batch finished' : 'Batch already ran; returning its result', {
        succeeded: result.succeeded,
        failed: result.failed,
        elapsedMs: result.elapsedMs,
      });
      return result;
    }
    case 'heal': {
      log.appendKeys({ batchId: recognized.event.batchId });
      const healed = await healBatch(recognized.event, {
        config,
        deps,
        deadlineAt: deadlineFor(context),
        launch: app.launch,
      });
      if (!healed.ranNow) {
        log.info('Batch heal started nothing here', { status: healed.answer.status });
        return healed.answer;
      }
      recordBatch(app.metrics, healed.result);
      const { succeeded, failed, retries } = healed.result;
      log.info('Batch healed', { succeeded, failed, retries });
      return healed.result;
    }
  }
}

/**
 * Starts a scheduled batch's healing retry. Its failure is logged and leaves the batch as it ran
 * (the items stay failed in the manifest, a retry can still be asked for): never a failed run.
 */
async function startHealing(batchId: string, app: App): Promise<void> {
  const delaySeconds = app.config.healDelaySeconds;
  if (!app.heal) return;
  try {
    await app.heal({ batchId, delaySeconds });
    app.log.info('Batch left items failed; retrying them once after the delay', { delaySeconds });
  } catch (error) {
    app.log.error('Could not start the batch healing itself', { error });
  }
}
