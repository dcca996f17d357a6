import { ArnFormat, Duration, Names, Stack, Tags } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Schedule } from 'aws-cdk-lib/aws-scheduler';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../lambda/function/adapters/metrics.js';
import { loadConfig } from '../lambda/function/contracts/config.js';
import { BatchApi } from './batch-api.js';
import { BatchFunctions } from './batch-functions.js';
import { BatchSchedule } from './batch-schedule.js';
import { BatchWorkflow } from './batch-workflow.js';
import { BatchMonitoring } from './monitoring.js';
import { acknowledgeFindings } from './nag.js';
import { functionLimits, readSettings, type StackSettings } from './settings.js';
import { ImageStorage } from './storage.js';

/** Every setting is optional, with the defaults docs/deploy.md lists; the same names as the app's context keys. */
export type PicsumBatchProps = Partial<StackSettings> & {
  /** Bring your own bucket: the functions read and write only under `keyPrefix`. Default: a private bucket of its own. */
  bucket?: IBucket;
  /** Where each batch's event goes when it ends (`Batch Done`, `Batch Failed`, `Batch Cancelled`). Default: the account's default bus. */
  eventBus?: IEventBus;
  /** Where every alarm goes. Default: a topic of its own (`alarmEmails` subscribe to either). */
  alarmTopic?: ITopic;
};

/**
 * A batch fetcher in one construct: two functions (the API's, the state machine's steps), a REST
 * API, a Step Functions state machine that runs every batch that does not finish inside its request,
 * an EventBridge Scheduler schedule that starts it, a queue for the schedule's failed deliveries, a
 * dashboard and alarms on an SNS topic, and a bucket unless one is given. Every physical name and metric dimension derives from the construct's path, so any
 * number of them live in one stack; it creates no account-wide resource.
 */
export class PicsumBatch extends Construct {
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
    const settings = readSettings((key) => (rest as Record<string, unknown>)[key]);
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
      batchMetric: (metricName, options) => this.batchMetric(metricName, options),
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
