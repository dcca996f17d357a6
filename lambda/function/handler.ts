import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { handleApiEvent } from './adapters/http-api/router.js';
import { type JobEvent, selfInvokeLauncher, stepFunctionsLauncher } from './adapters/launchers.js';
import { METRICS_NAMESPACE, recordBatch } from './adapters/metrics.js';
import { loadConfig } from './contracts/config.js';
import { ConfigError } from './contracts/errors.js';
import type { BatchResult } from './orchestration/batch.js';
import {
  type AggregateSummary,
  aggregateBatch,
  type BatchPlan,
  type ChunkSummary,
  planBatch,
  recordFailure,
  runChunk,
  type WorkflowEvent,
} from './orchestration/chunks.js';
import { acceptJob, type BatchStatus, launcherBySize, readStatus, runJobOnce } from './orchestration/jobs.js';
import { type ScheduleEvent, scheduledJob } from './orchestration/schedule.js';
import { createSourceAgent } from './source/picsum.js';
import { createS3Client } from './storage/objects.js';

const config = loadConfig(process.env, { requireBucket: true });
const log = new Logger({ serviceName: 'picsum-batch' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'picsum-batch' });
const deps = { s3: createS3Client(config), dispatcher: createSourceAgent(config) };
const aws = { region: config.region, credentials: deps.s3.config.credentials };
// The AWS SDKs' service-specific endpoint variables, honoured here too (local stand-ins, tests).
const endpoints = { lambda: process.env.AWS_ENDPOINT_URL_LAMBDA, states: process.env.AWS_ENDPOINT_URL_SFN };
const { stateMachineArn } = config;
// A 202 batch runs in a second, asynchronous invocation of this same function; one over
// CHUNK_SIZE runs on the batch state machine, chunk by chunk.
const launch = launcherBySize(config, {
  whole: selfInvokeLauncher({
    ...aws,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'picsum-batch',
    endpoint: endpoints.lambda,
  }),
  chunked: stateMachineArn
    ? stepFunctionsLauncher({ ...aws, stateMachineArn, endpoint: endpoints.states })
    : async () => {
        throw new ConfigError('STATE_MACHINE_ARN is not set: batches over CHUNK_SIZE need the batch state machine');
      },
});

type Event = APIGatewayProxyEvent | JobEvent | WorkflowEvent | ScheduleEvent;
const kindOf = (event: object): unknown => (event as { kind?: unknown }).kind;
const isJobEvent = (event: object): event is JobEvent => kindOf(event) === 'picsum-batch.job';
const isWorkflowEvent = (event: object): event is WorkflowEvent =>
  ['picsum-batch.plan', 'picsum-batch.chunk', 'picsum-batch.aggregate', 'picsum-batch.failed'].includes(
    kindOf(event) as string,
  );

// Keep 5 s after the deadline to write the manifest and return.
const deadlineFor = (context: Context) => Date.now() + context.getRemainingTimeInMillis() - 5_000;

/** The state machine's steps: plan, one chunk, aggregate. Each returns a few bytes of state. */
async function runWorkflowStep(
  event: WorkflowEvent,
  context: Context,
): Promise<BatchPlan | ChunkSummary | AggregateSummary | BatchStatus> {
  switch (event.kind) {
    case 'picsum-batch.plan':
      log.appendKeys({ batchId: event.job.batchId });
      return planBatch(event.job, config.mapMaxConcurrency, { config, deps });
    case 'picsum-batch.chunk': {
      log.appendKeys({ batchId: event.task.batchId, chunk: event.task.chunk.chunk });
      const summary: ChunkSummary = await runChunk(event.task, { config, deps, deadlineAt: deadlineFor(context) });
      log.info('Chunk finished', { succeeded: summary.succeeded, failed: summary.failed });
      return summary;
    }
    case 'picsum-batch.aggregate': {
      log.appendKeys({ batchId: event.plan.batchId });
      const { result, missingChunks } = await aggregateBatch(event.plan, { config, deps });
      recordBatch(metrics, result);
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
 * API Gateway proxy events, this function's own background jobs, the batch state machine's steps,
 * and EventBridge Scheduler payloads.
 */
export async function handler(
  event: Event,
  context: Context,
): Promise<APIGatewayProxyResult | BatchResult | BatchStatus | BatchPlan | ChunkSummary | AggregateSummary> {
  log.addContext(context);
  if ('httpMethod' in event) {
    const remainingMs = context.getRemainingTimeInMillis();
    const onResult = (result: BatchResult) => recordBatch(metrics, result);
    return handleApiEvent(event, { config, deps, remainingMs, launch, log, onResult });
  }
  if (isWorkflowEvent(event)) return runWorkflowStep(event, context);
  const job = isJobEvent(event) ? event.job : scheduledJob(event, config);
  log.appendKeys({ batchId: job.batchId });
  if (job.request.count > config.chunkSize) {
    // A scheduled batch too large for one invocation goes to the state machine, once per run.
    const known = await readStatus(job.batchId, config, deps);
    if (known) return known;
    await acceptJob(job, config, deps, launch);
    log.info('Batch accepted', { requested: job.request.count });
    return {
      batchId: job.batchId,
      status: 'accepted',
      requested: job.request.count,
      acceptedAt: new Date().toISOString(),
    };
  }
  const { result, ranNow } = await runJobOnce(job, { config, deps, deadlineAt: deadlineFor(context) });
  if (ranNow) recordBatch(metrics, result);
  log.info(ranNow ? 'Batch finished' : 'Batch already ran; returning its result', {
    succeeded: result.succeeded,
    failed: result.failed,
    elapsedMs: result.elapsedMs,
  });
  return result;
}
