import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  type Alarm,
  type CfnDashboard,
  ComparisonOperator,
  type Dashboard,
  type MathExpression,
  type Metric,
  type MetricOptions,
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
import { METRIC_NAMES, METRICS_NAMESPACE } from '../lambda/function/contracts/metric-names.js';
import { DASHBOARD_UNTAGGED_REGIONS, untaggedIn } from './regional-gaps.js';

export type BatchMonitoringProps = {
  /** The instance's unique name: the dashboard's and every alarm's name start with it. */
  name: string;
  /** The instance's batch metrics: PicsumBatch's own metric methods, which the dashboard draws. */
  metrics: BatchMetrics;
  api: RestApi;
  /** Each function with the name its widgets and alarms carry. */
  functions: Record<string, IFunction>;
  stateMachine: IStateMachine;
  failedDeliveries: IQueue;
  failedRatioThreshold: number;
  /** Where every alarm (and its return to OK) goes. */
  alarmTopic: ITopic;
};

/** What PicsumBatch measures of its batches, under its `service` dimension (its public metric methods). */
export type BatchMetrics = {
  metricImagesStored(options?: MetricOptions): Metric;
  metricImagesFailed(options?: MetricOptions): Metric;
  metricFailedImageRatio(options?: MetricOptions): MathExpression;
  metricBatchDuration(options?: MetricOptions): Metric;
  metricItemLatencyP50(options?: MetricOptions): Metric;
  metricItemLatencyP99(options?: MetricOptions): Metric;
  metricEventsNotPut(options?: MetricOptions): Metric;
};

/** Any one of these in five minutes is worth a person's attention: one period decides. */
const ANY = { Critical: { maxErrorCount: 0, datapointsToAlarm: 1, evaluationPeriods: 1 } };

/** The API's p99 latency that alarms: the function stops fetching at 25 s, API Gateway cuts at 29 s. */
export const API_LATENCY_ALARM = Duration.seconds(25);

/** A function's p99 duration that alarms, as a share of its timeout. */
export const DURATION_ALARM_PERCENT_OF_TIMEOUT = 90;

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
    const { name, metrics } = props;
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

    const stored = metrics.metricImagesStored({ label: 'Stored' });
    const failed = metrics.metricImagesFailed({ label: 'Failed' });
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
              // The batch metrics' own period (PicsumBatch's), not a second five minutes written here.
              period: stored.period,
            },
          ],
        },
        {
          title: 'Failed-image ratio',
          metrics: [
            {
              metric: metrics.metricFailedImageRatio(),
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
          metrics: [
            metrics.metricBatchDuration({ label: 'p50' }),
            metrics.metricBatchDuration({ statistic: 'p99', label: 'p99' }),
          ],
        },
        {
          // Each batch reports its own items' percentiles: the lines are their average and maximum.
          title: 'Item latency (ms), per batch',
          metrics: [metrics.metricItemLatencyP50({ label: 'p50' }), metrics.metricItemLatencyP99({ label: 'p99' })],
        },
        { title: 'Batch events not put', metrics: [metrics.metricEventsNotPut({ label: 'Not put' })] },
      ],
    });

    monitoring.addLargeHeader('Parts').monitorApiGateway({
      api: props.api,
      alarmFriendlyName: 'Api',
      add5XXFaultCountAlarm: ANY,
      // API Gateway cuts an integration at 29 s; the API function stops fetching at 25 s.
      addLatencyP99Alarm: { Critical: { maxLatency: API_LATENCY_ALARM } },
    });
    for (const [friendly, fn] of Object.entries(props.functions)) {
      monitoring.monitorLambdaFunction({
        lambdaFunction: fn,
        alarmFriendlyName: `${friendly}Function`,
        humanReadableName: `${friendly} function`,
        addFaultCountAlarm: ANY,
        addThrottlesCountAlarm: ANY,
        // A function running close to its timeout is about to be cut off mid-batch.
        addLatencyP99Alarm: { Critical: { maxLatencyPercentageOfTimeout: DURATION_ALARM_PERCENT_OF_TIMEOUT } },
      });
    }
    monitoring
      .monitorStepFunction({
        stateMachine: props.stateMachine,
        alarmFriendlyName: 'Workflow',
        humanReadableName: 'Batch state machine',
        addFailedExecutionCountAlarm: ANY,
        addTimedOutExecutionCountAlarm: ANY,
        addThrottledExecutionCountAlarm: ANY,
        addAbortedExecutionCountAlarm: ANY,
      })
      .monitorSqsQueue({
        queue: props.failedDeliveries,
        alarmFriendlyName: 'FailedDeliveries',
        humanReadableName: 'Scheduled runs that never started the state machine',
        addQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0, datapointsToAlarm: 1, evaluationPeriods: 1 } },
      });

    if (!dashboards.dashboard) throw new Error('cdk-monitoring-constructs made no dashboard');
    this.dashboard = dashboards.dashboard;
    untaggedIn(this.dashboard.node.defaultChild as CfnDashboard, DASHBOARD_UNTAGGED_REGIONS);
    this.alarms = monitoring.createdAlarms().map((created) => created.alarm as Alarm);
  }
}
