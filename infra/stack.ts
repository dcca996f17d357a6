import { ArnFormat, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { loadConfig } from '../lambda/function/contracts/config.js';
import { BatchAlarms } from './alarms.js';
import { BatchApi } from './batch-api.js';
import { BatchFunctions } from './batch-functions.js';
import { BatchSchedule } from './batch-schedule.js';
import { BatchWorkflow } from './batch-workflow.js';
import { acknowledgeFindings } from './nag.js';
import { functionLimits, type StackSettings } from './settings.js';
import { ImageStorage } from './storage.js';

export type PicsumBatchStackProps = StackProps & { settings: StackSettings };

/** Bucket, function, HTTPS API, schedule, batch state machine, failed-runs queue and alarms. */
export class PicsumBatchStack extends Stack {
  readonly storage: ImageStorage;
  readonly batchFunctions: BatchFunctions;
  readonly batchApi: BatchApi;
  readonly failedRuns: Queue;
  readonly batchSchedule: BatchSchedule;
  readonly batchWorkflow: BatchWorkflow;

  constructor(scope: Construct, id: string, props: PicsumBatchStackProps) {
    super(scope, id, props);
    const { settings } = props;
    this.storage = new ImageStorage(this, 'Storage', settings);
    // Scheduled deliveries that never reached the function, and asynchronous runs that failed.
    this.failedRuns = new Queue(this, 'FailedRuns', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // The state machine invokes the workflow function and the functions start the state machine:
    // its ARN is built from a fixed name, so neither resource has to wait for the other.
    const stateMachineName = `${this.stackName}-batches`;
    const stateMachineArn = this.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.batchFunctions = new BatchFunctions(this, 'Batch', {
      settings,
      bucket: this.storage.bucket,
      failedRuns: this.failedRuns,
      stateMachineArn,
    });
    const { api, runs, workflow } = this.batchFunctions;
    this.batchWorkflow = new BatchWorkflow(this, 'Workflow', { settings, handler: workflow, stateMachineName });
    this.batchApi = new BatchApi(this, 'Http', {
      settings,
      handler: api,
      // The function's own limits: what it reads from MAX_COUNT and its defaults.
      limits: loadConfig(functionLimits(settings)),
    });
    const scheduleName = `${this.stackName}-batch`;
    this.batchSchedule = new BatchSchedule(this, 'Scheduled', {
      settings,
      handler: runs,
      deadLetterQueue: this.failedRuns,
      scheduleName,
    });
    new BatchAlarms(this, 'Alarms', {
      functions: this.batchFunctions.all,
      failedRuns: this.failedRuns,
      failedRatioThreshold: settings.failedRatioThreshold,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.batchApi.api.url, description: 'POST {ApiUrl}batches' });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'RunsFunctionName', {
      value: runs.functionName,
      description: 'Runs one batch when invoked with {"kind":"picsum-batch.run","request":{...}}',
    });
    new CfnOutput(this, 'ScheduleName', { value: scheduleName });
    new CfnOutput(this, 'StateMachineArn', {
      value: this.batchWorkflow.stateMachine.stateMachineArn,
      description: 'Batches over chunkSize run here (Step Functions console: executions, map runs)',
    });
    acknowledgeFindings(this, settings);
  }
}
