import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { handleApiEvent } from './api.js';
import type { BatchResult } from './batch.js';
import { loadConfig } from './config.js';
import { runJobOnce } from './jobs.js';
import { type JobEvent, selfInvokeLauncher } from './launcher.js';
import { METRICS_NAMESPACE, recordBatch } from './metrics.js';
import { type ScheduleEvent, scheduledJob } from './schedule.js';
import { createSourceAgent } from './source.js';
import { createS3Client } from './store.js';

const config = loadConfig(process.env, { requireBucket: true });
const log = new Logger({ serviceName: 'picsum-batch' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'picsum-batch' });
const deps = { s3: createS3Client(config), dispatcher: createSourceAgent(config) };
// A 202 batch runs in a second, asynchronous invocation of this same function.
const launch = selfInvokeLauncher({
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'picsum-batch',
  region: config.region,
  credentials: deps.s3.config.credentials,
});

type Event = APIGatewayProxyEvent | JobEvent | ScheduleEvent;
const isJobEvent = (event: JobEvent | ScheduleEvent): event is JobEvent =>
  (event as JobEvent).kind === 'picsum-batch.job';

// Keep 5 s after the deadline to write the manifest and return.
const deadlineFor = (context: Context) => Date.now() + context.getRemainingTimeInMillis() - 5_000;

/** API Gateway proxy events, this function's own background jobs, and EventBridge Scheduler payloads. */
export async function handler(event: Event, context: Context): Promise<APIGatewayProxyResult | BatchResult> {
  log.addContext(context);
  if ('httpMethod' in event) {
    const remainingMs = context.getRemainingTimeInMillis();
    const onResult = (result: BatchResult) => recordBatch(metrics, result);
    return handleApiEvent(event, { config, deps, remainingMs, launch, log, onResult });
  }
  const job = isJobEvent(event) ? event.job : scheduledJob(event, config);
  log.appendKeys({ batchId: job.batchId });
  const { result, ranNow } = await runJobOnce(job, { config, deps, deadlineAt: deadlineFor(context) });
  if (ranNow) recordBatch(metrics, result);
  log.info(ranNow ? 'Batch finished' : 'Batch already ran; returning its result', {
    succeeded: result.succeeded,
    failed: result.failed,
    elapsedMs: result.elapsedMs,
  });
  return result;
}
