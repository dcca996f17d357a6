// What each entry makes once per cold start and shares with every invocation of its instance.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { announcer, eventBridgePutter } from '../adapters/batch-events.js';
import type { Invocation } from '../adapters/invocation.js';
import { jobLauncher, stepFunctionsLaunchers } from '../adapters/launchers.js';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../adapters/metrics.js';
import { loadConfig } from '../contracts/config.js';
import { BatchService, type Launchers } from '../orchestration/batch-service.js';
import { createSourcePool } from '../source/picsum.js';
import { createS3Client } from '../storage/s3-client.js';

/**
 * The entry's batch service, log and metrics. Batches it does not run itself go elsewhere: a
 * background batch to the runs function (RUNS_FUNCTION_NAME), one over CHUNK_SIZE and a scheduled
 * batch's heal to the batch state machine (STATE_MACHINE_ARN). An entry without one of them
 * records such a batch as failed to launch, saying which variable is missing.
 */
export function coldStart(): Invocation {
  const config = loadConfig(process.env, { requireBucket: true });
  // Deployed, each instance's own name (POWERTOOLS_SERVICE_NAME): its metrics' `service` dimension.
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME || 'picsum-batch';
  const log = new Logger({ serviceName });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
  const deps = { s3: createS3Client(config), source: createSourcePool(config), log };
  const { region, stateMachineArn, runsFunctionName } = config;
  const states = stateMachineArn ? stepFunctionsLaunchers({ region, stateMachineArn }) : undefined;
  const launchers: Launchers = {
    ...(runsFunctionName ? { job: jobLauncher({ region, functionName: runsFunctionName }) } : {}),
    ...(states ? { chunked: states.chunked, heal: states.heal } : {}),
  };
  const announce = config.eventSource
    ? announcer(eventBridgePutter({ region, busName: config.eventBusName, source: config.eventSource }), config, {
        failed(error, event) {
          log.error('Could not put the batch event; the batch stands as it ended', { error, event: event.detailType });
          metrics.addMetric(METRIC_NAMES.eventsFailed, MetricUnit.Count, 1);
          metrics.publishStoredMetrics();
        },
      })
    : undefined;
  return { batches: new BatchService(config, deps, launchers, announce), log, metrics };
}
