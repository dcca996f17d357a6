import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  type Alarm,
  ComparisonOperator,
  type Dashboard,
  MathExpression,
  type Metric,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import {
  DefaultDashboardFactory,
  MetricStatistic,
  MonitoringFacade,
  SnsAlarmActionStrategy,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../lambda/function/adapters/metrics.js';

export type BatchMonitoringProps = {
  /** The instance's unique name: the dashboard's and every alarm's name start with it. */
  name: string;
  /** One of the instance's batch metrics (PicsumBatch's own, under its `service` dimension). */
  batchMetric: (metricName: string, options: { statistic: string; label: string }) => Metric;
  api: RestApi;
  /** Each function with the name its widgets and alarms carry. */
  functions: Record<string, IFunction>;
  stateMachine: IStateMachine;
  failedDeliveries: IQueue;
  failedRatioThreshold: number;
  /** Where every alarm (and its return to OK) goes. */
  alarmTopic: ITopic;
};

/** Any one of these in a period is worth a person's attention. */
const ANY = { Critical: { maxErrorCount: 0 } };

/**
 * The instance's CloudWatch dashboard and alarms, with cdklabs' cdk-monitoring-constructs: its
 * batches (images stored and failed, failures by reason, batch duration, item latency), the API,
 * each function, the state machine and the schedule's failed deliveries. Every alarm notifies `alarmTopic`.
 */
export class BatchMonitoring extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: BatchMonitoringProps) {
    super(scope, id);
    const { name, batchMetric: metricOf } = props;
    const dashboards = new DefaultDashboardFactory(this, 'Dashboards', {
      dashboardNamePrefix: name,
      createDashboard: true,
      createSummaryDashboard: false,
      createAlarmDashboard: false,
    });
    const monitoring = new MonitoringFacade(this, 'Monitoring', {
      alarmFactoryDefaults: {
        alarmNamePrefix: name,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: props.alarmTopic, onOkTopic: props.alarmTopic }),
      },
      metricFactoryDefaults: { namespace: METRICS_NAMESPACE },
      dashboardFactory: dashboards,
    });

    const period = Duration.minutes(5);
    const batchMetric = (metricName: string, statistic: string, label: string) =>
      metricOf(metricName, { statistic, label });
    const stored = batchMetric(METRIC_NAMES.stored, 'Sum', 'Stored');
    const failed = batchMetric(METRIC_NAMES.failed, 'Sum', 'Failed');
    monitoring.addLargeHeader(`Batches: ${name}`).monitorCustom({
      humanReadableName: 'Batches',
      alarmFriendlyName: 'Batches',
      metricGroups: [
        { title: 'Images', metrics: [stored, failed] },
        {
          title: 'Failed images by reason',
          metrics: [
            {
              searchQuery: METRIC_NAMES.failedByReason,
              dimensionsMap: { ...stored.dimensions, reason: undefined as unknown as string },
              statistic: MetricStatistic.SUM,
              period,
            },
          ],
        },
        {
          title: 'Failed-image ratio',
          metrics: [
            {
              metric: new MathExpression({
                expression: 'IF(stored + failed > 0, failed / (stored + failed), 0)',
                usingMetrics: { stored, failed },
                label: 'Failed / all',
                period,
              }),
              alarmFriendlyName: 'FailedImageRatio',
              addAlarm: {
                Critical: {
                  threshold: props.failedRatioThreshold,
                  comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
                  additionalDescription: `More than ${props.failedRatioThreshold * 100}% of images failed`,
                },
              },
            },
          ],
        },
        {
          title: 'Batch duration (ms)',
          metrics: [batchMetric(METRIC_NAMES.elapsed, 'p50', 'p50'), batchMetric(METRIC_NAMES.elapsed, 'p99', 'p99')],
        },
        {
          // Each batch reports its own items' percentiles: the lines are their average and maximum.
          title: 'Item latency (ms), per batch',
          metrics: [
            batchMetric(METRIC_NAMES.itemLatencyP50, 'Average', 'p50'),
            batchMetric(METRIC_NAMES.itemLatencyP99, 'Maximum', 'p99'),
          ],
        },
        { title: 'Batch events not put', metrics: [batchMetric(METRIC_NAMES.eventsFailed, 'Sum', 'Not put')] },
      ],
    });

    monitoring
      .addLargeHeader('Parts')
      .monitorApiGateway({ api: props.api, alarmFriendlyName: 'Api', add5XXFaultCountAlarm: ANY });
    for (const [friendly, fn] of Object.entries(props.functions)) {
      monitoring.monitorLambdaFunction({
        lambdaFunction: fn,
        alarmFriendlyName: `${friendly}Function`,
        humanReadableName: `${friendly} function`,
        addFaultCountAlarm: ANY,
        addThrottlesCountAlarm: ANY,
      });
    }
    monitoring
      .monitorStepFunction({
        stateMachine: props.stateMachine,
        alarmFriendlyName: 'Workflow',
        humanReadableName: 'Batch state machine',
        addFailedExecutionCountAlarm: ANY,
        addTimedOutExecutionCountAlarm: ANY,
      })
      .monitorSqsQueue({
        queue: props.failedDeliveries,
        alarmFriendlyName: 'FailedDeliveries',
        humanReadableName: 'Scheduled runs that never started the state machine',
        addQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0 } },
      });

    if (!dashboards.dashboard) throw new Error('cdk-monitoring-constructs made no dashboard');
    this.dashboard = dashboards.dashboard;
    this.alarms = monitoring.createdAlarms().map((created) => created.alarm as Alarm);
  }
}
