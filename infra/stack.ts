import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PicsumBatch, propsOf } from './picsum-batch.js';
import type { StackSettings } from './settings.js';

export type PicsumBatchStackProps = StackProps & { settings: StackSettings };

/** The app's stack: one PicsumBatch with the settings of the context, and its outputs. */
export class PicsumBatchStack extends Stack {
  readonly batches: PicsumBatch;

  constructor(scope: Construct, id: string, props: PicsumBatchStackProps) {
    super(scope, id, props);
    this.batches = new PicsumBatch(this, 'Batches', propsOf(props.settings));
    const { api, bucket, schedule, stateMachine } = this.batches;
    new CfnOutput(this, 'ApiUrl', { value: api.url, description: 'POST {ApiUrl}batches' });
    new CfnOutput(this, 'BucketName', { value: bucket.bucketName });
    new CfnOutput(this, 'ScheduleName', { value: schedule.scheduleName });
    new CfnOutput(this, 'EventSource', {
      value: this.batches.eventSource,
      description: 'The source of each batch event on the default bus (Batch Done, Batch Failed, Batch Cancelled)',
    });
    new CfnOutput(this, 'StateMachineArn', {
      value: stateMachine.stateMachineArn,
      description:
        'Every batch over syncMaxCount runs here, an execution named after it; start one with {"kind":"picsum-batch.run","request":{...}}',
    });
  }
}
