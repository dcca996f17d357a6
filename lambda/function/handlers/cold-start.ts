// What each entry makes once per cold start and shares with every invocation of its instance.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { announcer, eventBridgePutter } from '../adapters/batch-events.js';
import type { Invocation } from '../adapters/invocation.js';
import { stepFunctionsEngine } from '../adapters/step-functions-engine.js';
import { loadConfig } from '../contracts/config.js';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../contracts/metric-names.js';
import { BatchService } from '../orchestration/batch-service.js';
import { createDeps } from './deps.js';

/**
 * The entry's batch service, log and metrics. Batches it does not run itself go to the batch state
 * machine (STATE_MACHINE_ARN); without it, starting one fails saying so, and writes nothing.
 */
export function coldStart(): Invocation {
  const config = loadConfig(process.env, { requireBucket: true });
  // Deployed, each instance's own name (POWERTOOLS_SERVICE_NAME): its metrics' `service` dimension.
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME || 'picsum-batch';
  const log = new Logger({ serviceName });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
  const deps = createDeps(config, log);
  const { region, stateMachineArn } = config;
  const engine = stateMachineArn ? stepFunctionsEngine({ region, stateMachineArn }) : undefined;
  const announce = config.eventSource
    ? announcer(eventBridgePutter({ region, busName: config.eventBusName, source: config.eventSource }), config, {
        failed(error, event) {
          log.error('Could not put the batch event; the batch stands as it ended', { error, event: event.detailType });
          metrics.addMetric(METRIC_NAMES.eventsFailed, MetricUnit.Count, 1);
          metrics.publishStoredMetrics();
        },
      })
    : undefined;
  return { batches: new BatchService(config, deps, engine, announce), log, metrics };
}
