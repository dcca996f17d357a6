import { Logger } from '@aws-lambda-powertools/logger';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { handleApiEvent } from './api.js';
import type { BatchResult } from './batch.js';
import { loadConfig } from './config.js';
import { type BatchJob, type Launcher, runJob } from './jobs.js';
import { type ScheduleEvent, scheduledJob } from './schedule.js';
import { createSourceAgent } from './source.js';
import { createS3Client } from './store.js';

const config = loadConfig(process.env, { requireBucket: true });
const log = new Logger({ serviceName: 'picsum-batch' });
const deps = { s3: createS3Client(config), dispatcher: createSourceAgent(config) };
const lambda = new LambdaClient({});

/** A 202 batch runs in a second, asynchronous invocation of this same function. */
const launch: Launcher = async (job) => {
  const event: JobEvent = { kind: 'picsum-batch.job', job };
  await lambda.send(
    new InvokeCommand({
      FunctionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      InvocationType: 'Event',
      Payload: JSON.stringify(event),
    }),
  );
};

type JobEvent = { kind: 'picsum-batch.job'; job: BatchJob };
type Event = APIGatewayProxyEvent | JobEvent | ScheduleEvent;

// Keep 5 s after the deadline to write the manifest and return.
const deadlineFor = (context: Context) => Date.now() + context.getRemainingTimeInMillis() - 5_000;

/** API Gateway proxy events, this function's own background jobs, and EventBridge Scheduler payloads. */
export async function handler(event: Event, context: Context): Promise<APIGatewayProxyResult | BatchResult> {
  if ('httpMethod' in event) {
    log.addContext(context);
    return handleApiEvent(event, { config, deps, remainingMs: context.getRemainingTimeInMillis(), launch, log });
  }
  const job =
    'kind' in event && event.kind === 'picsum-batch.job' ? event.job : scheduledJob(event as ScheduleEvent, config);
  log.appendKeys({ batchId: job.batchId });
  const result = await runJob(job, { config, deps, deadlineAt: deadlineFor(context) });
  log.info('Batch finished', { succeeded: result.succeeded, failed: result.failed, elapsedMs: result.elapsedMs });
  return result;
}
