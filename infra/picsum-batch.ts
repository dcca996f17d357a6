import { ArnFormat, Duration, Names, Size, Stack, Tags } from 'aws-cdk-lib';
import { AuthorizationType, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import { MathExpression, Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { loadConfig } from '../lambda/function/contracts/config.js';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../lambda/function/contracts/metric-names.js';
import { BatchApi } from './batch-api.js';
import { BatchFunctions } from './batch-functions.js';
import { BatchSchedule } from './batch-schedule.js';
import { BatchWorkflow } from './batch-workflow.js';
import { type BatchMetrics, BatchMonitoring } from './monitoring.js';
import { acknowledgeFindings } from './nag.js';
import { functionLimits, readSettings, type StackSettings } from './settings.js';
import { ImageStorage } from './storage.js';

/** Settings whose props take CDK's own types (Size, Duration, RetentionDays, a schedule, an authorization type). */
type TypedSettings =
  | 'memoryMb'
  | 'timeoutSeconds'
  | 'logRetentionDays'
  | 'expireDays'
  | 'scheduleExpression'
  | 'healDelaySeconds'
  | 'linkExpirySeconds'
  | 'auth';

/**
 * Every setting is optional. Counts and switches keep the app's context keys (docs/deploy.md lists
 * them with their defaults); sizes, times, retention, the schedule and the authorization take CDK's
 * types.
 */
export type PicsumBatchProps = Partial<Omit<StackSettings, TypedSettings>> & {
  /** Bring your own bucket: the functions read and write only under `keyPrefix`. @default a private bucket of its own */
  bucket?: IBucket;
  /** Where each batch's event goes when it ends (`Batch Done`, `Batch Failed`, `Batch Cancelled`). @default the account's default bus */
  eventBus?: IEventBus;
  /** Where every alarm goes (`alarmEmails` subscribe to either). @default a topic of its own */
  alarmTopic?: ITopic;
  /** Each function's memory (128 MiB to 10 GiB). @default Size.mebibytes(1024) */
  memorySize?: Size;
  /** The workflow function's timeout: the longest one chunk may run (30 s to 15 minutes). @default Duration.minutes(5) */
  timeout?: Duration;
  /** How long the functions', the state machine's and the API's logs are kept. @default RetentionDays.ONE_MONTH */
  logRetention?: RetentionDays;
  /** How long images are kept before they expire (1 to 3,650 days). @default Duration.days(30) */
  imageExpiry?: Duration;
  /** When the scheduled batch runs (`scheduleEnabled` turns it off). @default ScheduleExpression.rate(Duration.days(1)) */
  schedule?: ScheduleExpression;
  /** How long after a scheduled batch ends with failed items before they are retried once; zero: never. @default Duration.minutes(15) */
  healDelay?: Duration;
  /** How long the presigned URLs the API answers a finished batch with stay valid (1 minute to 7 days). @default Duration.hours(1) */
  linkExpiry?: Duration;
  /**
   * Who may call the API: `IAM` (SigV4-signed calls of principals allowed execute-api:Invoke, see
   * grantInvoke) or `NONE` (anyone with the URL: a throwaway stack only). @default AuthorizationType.IAM
   */
  authorizationType?: AuthorizationType.IAM | AuthorizationType.NONE;
};

/** The props in the settings' own terms, checked by the same rules as the app's context. */
function settingsOf(props: Omit<PicsumBatchProps, 'bucket' | 'eventBus' | 'alarmTopic'>): StackSettings {
  const {
    memorySize,
    timeout,
    logRetention,
    imageExpiry,
    schedule,
    healDelay,
    linkExpiry,
    authorizationType,
    ...rest
  } = props;
  const typed: Partial<Record<TypedSettings, unknown>> = {
    memoryMb: memorySize?.toMebibytes(),
    timeoutSeconds: timeout?.toSeconds(),
    logRetentionDays: logRetention,
    expireDays: imageExpiry?.toDays(),
    scheduleExpression: schedule?.expressionString,
    healDelaySeconds: healDelay?.toSeconds(),
    linkExpirySeconds: linkExpiry?.toSeconds(),
    auth: authorizationType === undefined ? undefined : authorizationType === AuthorizationType.NONE ? 'none' : 'iam',
  };
  const given: Record<string, unknown> = { ...rest, ...typed };
  return readSettings((key) => given[key]);
}

/** PicsumBatch's props for settings read from an app's context (the app's own stack uses it). */
export function propsOf(settings: StackSettings): PicsumBatchProps {
  const {
    memoryMb,
    timeoutSeconds,
    logRetentionDays,
    expireDays,
    scheduleExpression,
    healDelaySeconds,
    linkExpirySeconds,
    auth,
    ...rest
  } = settings;
  return {
    ...rest,
    memorySize: Size.mebibytes(memoryMb),
    timeout: Duration.seconds(timeoutSeconds),
    logRetention: logRetentionDays as RetentionDays,
    imageExpiry: Duration.days(expireDays),
    schedule: ScheduleExpression.expression(scheduleExpression),
    healDelay: Duration.seconds(healDelaySeconds),
    linkExpiry: Duration.seconds(linkExpirySeconds),
    authorizationType: auth === 'none' ? AuthorizationType.NONE : AuthorizationType.IAM,
  };
}

/**
 * A batch fetcher in one construct: two functions (the API's, the state machine's steps), a REST
 * API, a Step Functions state machine that runs every batch that does not finish inside its request,
 * an EventBridge Scheduler schedule that starts it, a queue for the schedule's failed deliveries, a
 * dashboard and alarms on an SNS topic, and a bucket unless one is given. Every physical name and metric dimension derives from the construct's path, so any
 * number of them live in one stack; it creates no account-wide resource.
 */
export class PicsumBatch extends Construct implements BatchMetrics {
  /** Where the images go: the bucket given, or the construct's own. */
  readonly bucket: IBucket;
  readonly api: RestApi;
  readonly functions: BatchFunctions;
  readonly stateMachine: StateMachine;
  readonly schedule: Schedule;
  /** Scheduled deliveries that never started the state machine. */
  readonly failedDeliveries: Queue;
  /** Its dashboard and alarms. */
  readonly monitoring: BatchMonitoring;
  /** Where its alarms go: the topic given, or its own. */
  readonly alarmTopic: ITopic;
  /** The `service` dimension of this instance's batch metrics, and its functions' log service name. */
  readonly serviceName: string;
  readonly settings: StackSettings;
  /** The `source` of this instance's batch events: a rule matches them with `{"source": [eventSource]}`. */
  readonly eventSource: string;

  constructor(scope: Construct, id: string, props: PicsumBatchProps = {}) {
    super(scope, id);
    // The access-log bucket takes S3's log delivery through its bucket policy, whatever the app's
    // feature flags say: without this flag CDK grants it by ACL, which a bucket that enforces its
    // owner (every bucket here) refuses. Context set here holds for this construct's children only.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const { bucket, eventBus, alarmTopic, ...rest } = props;
    const settings = settingsOf(rest);
    this.settings = settings;
    // Unique in the app and stable across deploys: the construct's path, shortened with a hash.
    const name = Names.uniqueResourceName(this, { maxLength: 48, separator: '-' });
    this.serviceName = name;
    this.eventSource = `picsum-batch.${name}`;
    Tags.of(this).add('picsum-batch:instance', name);

    this.bucket = bucket ?? new ImageStorage(this, 'Storage', settings).bucket;
    this.failedDeliveries = new Queue(this, 'FailedDeliveries', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // The state machine invokes the workflow function and the functions start the state machine:
    // its ARN is built from a fixed name, so neither resource has to wait for the other.
    const stateMachineName = `${name}-batches`;
    const stateMachineArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const executionsArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.functions = new BatchFunctions(this, 'Batch', {
      settings,
      bucket: this.bucket,
      stateMachineArn,
      executionsArn,
      serviceName: name,
      eventBus: eventBus ?? EventBus.fromEventBusName(this, 'DefaultBus', 'default'),
      eventSource: this.eventSource,
    });
    const { api, workflow } = this.functions;
    this.stateMachine = new BatchWorkflow(this, 'Workflow', {
      settings,
      handler: workflow,
      stateMachineName,
    }).stateMachine;
    this.api = new BatchApi(this, 'Http', {
      settings,
      handler: api,
      restApiName: name,
      // The function's own limits: what it reads from MAX_COUNT and its defaults.
      limits: loadConfig(functionLimits(settings)),
    }).api;
    this.schedule = new BatchSchedule(this, 'Scheduled', {
      settings,
      stateMachine: this.stateMachine,
      deadLetterQueue: this.failedDeliveries,
      scheduleName: `${name}-batch`,
    }).schedule;
    this.alarmTopic = alarmTopic ?? new Topic(this, 'AlarmTopic', { enforceSSL: true, displayName: `${name} alarms` });
    for (const address of settings.alarmEmails) this.alarmTopic.addSubscription(new EmailSubscription(address));
    this.monitoring = new BatchMonitoring(this, 'Monitoring', {
      name,
      metrics: this,
      api: this.api,
      functions: { Api: api, Workflow: workflow },
      stateMachine: this.stateMachine,
      failedDeliveries: this.failedDeliveries,
      failedRatioThreshold: settings.failedRatioThreshold,
      alarmTopic: this.alarmTopic,
    });
    acknowledgeFindings(this, settings);
  }

  /** Lets `grantee` call every route of the API (execute-api:Invoke on its stage), as SigV4-signed calls need. */
  grantInvoke(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.api.arnForExecuteApi('*', '/*', this.api.deploymentStage.stageName)],
    });
  }

  /**
   * Lets `grantee` read what the batches stored: their images, manifests and reports, every object
   * under the key prefix (a caller given the API's answers can then open the keys they name).
   */
  grantReadImages(grantee: IGrantable): Grant {
    return this.bucket.grantRead(grantee, `${this.settings.keyPrefix}*`);
  }

  /** Images stored, summed over the period (default 5 minutes). */
  metricImagesStored(options?: MetricOptions): Metric {
    return this.batchMetric(METRIC_NAMES.stored, { statistic: 'Sum', ...options });
  }

  /** Images failed, summed over the period (default 5 minutes). */
  metricImagesFailed(options?: MetricOptions): Metric {
    return this.batchMetric(METRIC_NAMES.failed, { statistic: 'Sum', ...options });
  }

  /** Batch duration in milliseconds, p50 over the period unless told otherwise. */
  metricBatchDuration(options?: MetricOptions): Metric {
    return this.batchMetric(METRIC_NAMES.elapsed, { statistic: 'p50', ...options });
  }

  /** The share of images that failed over the period (default 5 minutes): what the failed-image alarm watches. */
  metricFailedImageRatio(options?: MetricOptions): MathExpression {
    const stored = this.metricImagesStored(options);
    const failed = this.metricImagesFailed(options);
    return new MathExpression({
      expression: 'IF(stored + failed > 0, failed / (stored + failed), 0)',
      usingMetrics: { stored, failed },
      label: 'Failed / all',
      period: stored.period,
    });
  }

  /** Each batch's item latency p50 in milliseconds, averaged over the period unless told otherwise. */
  metricItemLatencyP50(options?: MetricOptions): Metric {
    return this.batchMetric(METRIC_NAMES.itemLatencyP50, { statistic: 'Average', ...options });
  }

  /** Each batch's item latency p99 in milliseconds, the largest over the period unless told otherwise. */
  metricItemLatencyP99(options?: MetricOptions): Metric {
    return this.batchMetric(METRIC_NAMES.itemLatencyP99, { statistic: 'Maximum', ...options });
  }

  /** Batch events EventBridge did not take, summed over the period (default 5 minutes). */
  metricEventsNotPut(options?: MetricOptions): Metric {
    return this.batchMetric(METRIC_NAMES.eventsFailed, { statistic: 'Sum', ...options });
  }

  private batchMetric(metricName: string, options: MetricOptions): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      period: Duration.minutes(5),
      ...options,
    });
  }
}
