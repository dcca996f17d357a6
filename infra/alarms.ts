import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../lambda/function/adapters/metrics.js';

export type BatchAlarmsProps = {
  functions: IFunction[];
  failedRuns: Queue;
  failedRatioThreshold: number;
  /** The `service` dimension of the instance's batch metrics. */
  serviceName: string;
};

/** Alarms a person should hear about: function errors and throttles, failed runs kept, too many failed images. */
export class BatchAlarms extends Construct {
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: BatchAlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const atLeastOne = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };
    const imageMetric = (metricName: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: props.serviceName },
        statistic: 'Sum',
        period,
      });
    this.alarms = [
      ...props.functions.flatMap((fn) => [
        new Alarm(this, `${fn.node.id}Errors`, {
          ...atLeastOne,
          alarmDescription: `A batch function threw (an unhandled error, or an event it refused): ${fn.node.id}`,
          metric: fn.metricErrors({ period }),
        }),
        new Alarm(this, `${fn.node.id}Throttles`, {
          ...atLeastOne,
          alarmDescription: `Invocations of a batch function were throttled (reserved concurrency or account limit): ${fn.node.id}`,
          metric: fn.metricThrottles({ period }),
        }),
      ]),
      new Alarm(this, 'FailedRunsVisible', {
        ...atLeastOne,
        alarmDescription: 'A scheduled or background run failed and is kept in the failed-runs queue',
        metric: props.failedRuns.metricApproximateNumberOfMessagesVisible({ period }),
      }),
      new Alarm(this, 'FailedImageRatio', {
        threshold: props.failedRatioThreshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `More than ${props.failedRatioThreshold * 100}% of images failed`,
        metric: new MathExpression({
          expression: 'IF(stored + failed > 0, failed / (stored + failed), 0)',
          usingMetrics: { stored: imageMetric(METRIC_NAMES.stored), failed: imageMetric(METRIC_NAMES.failed) },
          period,
        }),
      }),
    ];
  }
}
