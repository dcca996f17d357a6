import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  Fail,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CHUNK_TASK_SELECTOR, STATE_PATHS, STEP_PAYLOADS } from '../lambda/function/orchestration/chunked/steps.js';
import type { StackSettings } from './settings.js';

export type BatchWorkflowProps = { settings: StackSettings; handler: IFunction; stateMachineName: string };

/** Lambda's transient refusals: throttling and service faults, retried with backoff and jitter. */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.TooManyRequestsException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
];

/**
 * The state machine for batches over the chunk size (Standard, so it may run for hours):
 * Plan (split into chunks) -> Chunks (Distributed Map over the chunk list, each child a Standard
 * execution running one chunk) -> Aggregate (the batch's manifest and result) -> done, or failed
 * when more chunks failed than tolerated (their items are in the manifest as `chunk_failed`).
 * A plan or aggregate that fails for good is recorded as the batch's status before the execution fails.
 * An execution started with `heal` instead waits, then retries a scheduled batch's failed items.
 * Every step is the workflow function (the same bundle as the others), so a chunk runs exactly the
 * code a small batch runs.
 */
export class BatchWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: BatchWorkflowProps) {
    super(scope, id);
    const { settings, handler } = props;
    const step = (name: string, payload: { [field: string]: unknown }, resultPath?: string) => {
      const task = new LambdaInvoke(this, name, {
        lambdaFunction: handler,
        payload: TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        ...(resultPath !== undefined ? { resultPath } : {}),
      });
      return task.addRetry({
        errors: LAMBDA_TRANSIENT_ERRORS,
        interval: Duration.seconds(2),
        maxAttempts: 6,
        backoffRate: 2,
        maxDelay: Duration.seconds(60),
      });
    };

    // Every payload and path is the function's own (orchestration/chunked/steps.ts): the events it parses.
    const plan = step('Plan', STEP_PAYLOADS.plan);
    const runChunk = step('RunChunk', STEP_PAYLOADS.chunk);
    const chunks = new DistributedMap(this, 'Chunks', {
      itemsPath: STATE_PATHS.chunks,
      itemSelector: CHUNK_TASK_SELECTOR,
      maxConcurrency: settings.mapConcurrency,
      toleratedFailurePercentage: settings.toleratedChunkFailurePercent,
      mapExecutionType: StateMachineType.STANDARD,
      label: 'Chunks',
      // The chunk records in S3 are the results; the map's own output would only fill the state.
      resultPath: JsonPath.DISCARD,
    });
    chunks.itemProcessor(runChunk);
    const aggregate = step('Aggregate', STEP_PAYLOADS.aggregate, STATE_PATHS.summary);
    // Aggregating reads chunk records, stores the items chunks deferred and writes the manifest; a
    // repeat stores the same bytes again, or finds the batch aggregated: safe to try again on any error.
    aggregate.addRetry({
      errors: ['States.TaskFailed'],
      interval: Duration.seconds(5),
      maxAttempts: 2,
      backoffRate: 2,
    });
    // A plan or aggregate that fails for good is recorded, so GET answers "failed" rather than
    // "running" forever, and the execution fails with the step's own error.
    const recordFailure = step('RecordFailure', STEP_PAYLOADS.failed, JsonPath.DISCARD).next(
      new Fail(this, 'BatchFailed', {
        errorPath: `${STATE_PATHS.failure}.Error`,
        causePath: `${STATE_PATHS.failure}.Cause`,
      }),
    );
    plan.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: STATE_PATHS.failure });
    aggregate.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: STATE_PATHS.failure });
    // The map failing (too many failed chunks) still ends in a manifest that accounts for every item.
    chunks.addCatch(aggregate, { errors: ['States.ALL'], resultPath: STATE_PATHS.mapError });
    const outcome = new Choice(this, 'AllChunksRan')
      .when(
        Condition.isPresent(STATE_PATHS.mapError),
        new Fail(this, 'TooManyChunksFailed', {
          error: 'ChunksFailed',
          cause:
            'More chunks failed than toleratedChunkFailurePercent; their items are in the manifest as chunk_failed',
        }),
      )
      .otherwise(new Succeed(this, 'Done', { outputPath: STATE_PATHS.summary }));

    // A scheduled batch left with failed items heals once: an execution named `{batchId}-heal`,
    // started with `{"heal": {"batchId", "delaySeconds"}}`, waits, then has the function retry them.
    const healAfterDelay = new Wait(this, 'HealDelay', { time: WaitTime.secondsPath(STATE_PATHS.healDelaySeconds) })
      .next(step('Heal', STEP_PAYLOADS.heal, JsonPath.DISCARD))
      .next(new Succeed(this, 'Healed'));

    const logGroup = new LogGroup(this, 'Logs', {
      retention: settings.logRetentionDays as RetentionDays,
      removalPolicy: settings.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(
        new Choice(this, 'HealOrRun')
          .when(Condition.isPresent(STATE_PATHS.heal), healAfterDelay)
          .otherwise(plan.next(chunks).next(aggregate).next(outcome)),
      ),
      timeout: Duration.hours(24),
      tracingEnabled: true,
      // Every state transition logged, without the data (requests and results stay in S3).
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
  }
}
