import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Effect, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { functionCode } from './function-bundle.js';
import { functionLimits, type StackSettings } from './settings.js';

export type BatchFunctionProps = {
  settings: StackSettings;
  bucket: Bucket;
  failedRuns: Queue;
  /** The state machine that runs batches over the chunk size; built from its name (no cycle). */
  stateMachineArn: string;
};

/**
 * The batch Lambda: Node.js 24 on ARM64, bundled by the local esbuild (function-bundle.ts). Its
 * role may read and write objects under the key prefix (and list that prefix, so a missing
 * manifest reads as 404, not 403), write its own log group, send traces, invoke itself for 202
 * batches and start the batch state machine — nothing else.
 */
export class BatchFunction extends Construct {
  readonly function: LambdaFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: BatchFunctionProps) {
    super(scope, id);
    const { settings, bucket } = props;
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: settings.logRetentionDays as RetentionDays,
      removalPolicy: settings.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'picsum-batch function: objects under the key prefix, its logs, traces, itself',
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [bucket.arnForObjects(`${settings.keyPrefix}*`)],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${settings.keyPrefix}*`] } },
      }),
    );

    this.function = new LambdaFunction(this, 'Handler', {
      code: functionCode(),
      handler: 'index.handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: settings.memoryMb,
      timeout: Duration.seconds(settings.timeoutSeconds),
      reservedConcurrentExecutions: settings.reservedConcurrency,
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      role,
      description: 'Fetches N images from picsum.photos concurrently into S3',
      environment: {
        BUCKET_NAME: bucket.bucketName,
        KEY_PREFIX: settings.keyPrefix,
        ...functionLimits(settings),
        STATE_MACHINE_ARN: props.stateMachineArn,
        POWERTOOLS_SERVICE_NAME: 'picsum-batch',
        NODE_OPTIONS: '--enable-source-maps',
      },
      // Background (202) batches and scheduled runs are asynchronous invocations: a failure is
      // kept in the failed-runs queue instead of being retried into a duplicate batch.
      retryAttempts: 0,
      maxEventAge: Duration.hours(1),
      onFailure: new SqsDestination(props.failedRuns),
    });

    // A separate policy, not the role's default one: the function depends on its default policy,
    // and a statement naming the function's own ARN there would make a cycle.
    new Policy(this, 'InvokeSelf', {
      roles: [role],
      statements: [
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['lambda:InvokeFunction'],
          resources: [this.function.functionArn],
        }),
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['states:StartExecution'],
          resources: [props.stateMachineArn],
        }),
      ],
    });
  }
}
