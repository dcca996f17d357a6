import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type FunctionProps, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { functionCode } from './function-bundle.js';
import { functionLimits, type StackSettings } from './settings.js';

export type BatchFunctionsProps = {
  settings: StackSettings;
  bucket: IBucket;
  /** The batch state machine, and the ARN of its executions (`…:execution:{name}:*`); built from its name (no cycle). */
  stateMachineArn: string;
  executionsArn: string;
  /** Its functions' log service name and their batch metrics' `service` dimension. */
  serviceName: string;
  /** Where each batch's event goes when it ends, and the event's `source`. */
  eventBus: IEventBus;
  eventSource: string;
};

/** API Gateway cuts an integration at 29 s: the API function never needs longer. */
const API_TIMEOUT_SECONDS = 30;

/**
 * The batch functions, one per trigger, from one bundle (function-bundle.ts): Node.js 24 on ARM64.
 * - `api`: API Gateway's requests; runs batches up to SYNC_MAX_COUNT, starts the others as
 *   executions of the batch state machine.
 * - `workflow`: the batch state machine's steps.
 * Each role may read and write objects under the key prefix (and list that prefix, so a missing
 * manifest reads as 404, not 403), write its own log group and send traces; beyond that, each may
 * start the batch state machine and describe its executions (a running batch's status comes from
 * its execution), and put batch events on the bus — nothing else.
 */
export class BatchFunctions extends Construct {
  readonly api: LambdaFunction;
  readonly workflow: LambdaFunction;
  /** The state machine's executions, which each function may describe. */
  readonly executionsArn: string;

  constructor(scope: Construct, id: string, props: BatchFunctionsProps) {
    super(scope, id);
    const { settings, bucket } = props;
    this.executionsArn = props.executionsArn;
    const code = functionCode();
    const make = (
      name: string,
      entry: string,
      options: Pick<FunctionProps, 'timeout' | 'description'> &
        Partial<FunctionProps> & { env?: object; deletes?: boolean },
    ) => {
      const logGroup = new LogGroup(this, `${name}Logs`, {
        retention: settings.logRetentionDays as RetentionDays,
        removalPolicy: settings.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      });
      const role = new Role(this, `${name}Role`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `picsum-batch ${entry} function: objects under the key prefix, its logs, traces`,
      });
      role.addToPolicy(
        new PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      role.addToPolicy(
        new PolicyStatement({
          // The API's function also deletes batches (DELETE /batches/{batchId}); the workflow's never does.
          actions: ['s3:PutObject', 's3:GetObject', ...(options.deletes ? ['s3:DeleteObject'] : [])],
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
      // Every entry may start a batch on the state machine, and read a running batch's status from its execution.
      role.addToPolicy(new PolicyStatement({ actions: ['states:StartExecution'], resources: [props.stateMachineArn] }));
      role.addToPolicy(
        new PolicyStatement({ actions: ['states:DescribeExecution'], resources: [props.executionsArn] }),
      );
      const { env, deletes: _deletes, ...rest } = options;
      return new LambdaFunction(this, name, {
        ...rest,
        code,
        handler: `${entry}.handler`,
        runtime: Runtime.NODEJS_24_X,
        architecture: Architecture.ARM_64,
        memorySize: settings.memoryMb,
        tracing: Tracing.ACTIVE,
        logGroup,
        role,
        environment: {
          BUCKET_NAME: bucket.bucketName,
          KEY_PREFIX: settings.keyPrefix,
          ...functionLimits(settings),
          STATE_MACHINE_ARN: props.stateMachineArn,
          POWERTOOLS_SERVICE_NAME: props.serviceName,
          EVENT_BUS_NAME: props.eventBus.eventBusName,
          EVENT_SOURCE: props.eventSource,
          NODE_OPTIONS: '--enable-source-maps',
          ...env,
        },
      });
    };

    this.api = make('Api', 'api', {
      deletes: true,
      timeout: Duration.seconds(API_TIMEOUT_SECONDS),
      description: "picsum-batch: answers the HTTPS API's requests",
    });
    this.workflow = make('Workflow', 'workflow', {
      timeout: Duration.seconds(settings.timeoutSeconds),
      description: "picsum-batch: runs the batch state machine's steps (admit, plan, chunks, aggregate, heal)",
      // Chunks fan out here: the cap keeps a large batch from taking the account's concurrency.
      reservedConcurrentExecutions: settings.reservedConcurrency,
    });
    // Whichever function sees a batch end puts its event: events:PutEvents on that bus only.
    for (const fn of this.all) props.eventBus.grantPutEventsTo(fn);
  }

  /** Both functions, for alarms and grants that concern them all. */
  get all(): LambdaFunction[] {
    return [this.api, this.workflow];
  }
}
