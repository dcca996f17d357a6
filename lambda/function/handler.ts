import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { selfInvokeLauncher, stepFunctionsLaunchers } from './adapters/launchers.js';
import { METRICS_NAMESPACE } from './adapters/metrics.js';
import { routeEvent } from './adapters/route-event.js';
import { loadConfig } from './contracts/config.js';
import { ConfigError } from './contracts/errors.js';
import { launcherBySize } from './orchestration/jobs.js';
import { createSourcePool } from './source/picsum.js';
import { createS3Client } from './storage/s3-client.js';

// Made once per cold start and shared by every invocation of this instance.
const config = loadConfig(process.env, { requireBucket: true });
const log = new Logger({ serviceName: 'picsum-batch' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'picsum-batch' });
const deps = { s3: createS3Client(config), source: createSourcePool(config), log };
const { region, stateMachineArn } = config;
// A 202 batch runs in a second, asynchronous invocation of this same function; one over
// CHUNK_SIZE runs on the batch state machine, chunk by chunk.
// A scheduled batch left with failed items heals once on it too: the state machine waits, then calls back.
const states = stateMachineArn ? stepFunctionsLaunchers({ region, stateMachineArn }) : undefined;
const launch = launcherBySize(config, {
  whole: selfInvokeLauncher({ region, functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'picsum-batch' }),
  chunked:
    states?.chunked ??
    (async () => {
      throw new ConfigError('STATE_MACHINE_ARN is not set: batches over CHUNK_SIZE need the batch state machine');
    }),
});
const heal = states?.heal;

/** The Lambda entry point: see adapters/route-event.ts for the events it answers. */
export const handler = (event: unknown, context: Context) =>
  routeEvent(event, context, { config, deps, log, metrics, launch, ...(heal ? { heal } : {}) });
