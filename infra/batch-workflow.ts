import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
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
  type TaskStateBase,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-stepfunctions-tasks';
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
 * The batch state machine (Standard, so it may run for hours): every batch that does not finish
 * inside its request runs here, as an execution named after the batch.
 * - A job (`{batchId, request, retry?, scheduled?}`): Plan (split into chunks) -> Chunks (Distributed
 *   Map, each child a Standard execution running one chunk) -> Aggregate (the manifest) -> a
 *   scheduled batch left with failed items waits `healDelaySeconds`, claims a retry of them and
 *   plans again -> done, or failed when more chunks failed than tolerated.
 * - A run envelope from the schedule (`{"kind": "picsum-batch.run", ...}`): Admit (the envelope
 *   checked, its batch id derived from the schedule's name and time) -> StartBatch (an execution of
 *   this machine named after that batch; a redelivered envelope finds it started, and starts nothing).
 * A step that fails for good is recorded as the batch's status before the execution fails. Every
 * step is the workflow function, so a chunk runs exactly the code a small batch runs.
 */
export class BatchWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: BatchWorkflowProps) {
    super(scope, id);
    const { settings, handler } = props;
    const step = (name: string, payload: { [field: string]: unknown } | '$', resultPath?: string) => {
      const task = new LambdaInvoke(this, name, {
        lambdaFunction: handler,
        // Without a payload the task sends its whole state, as the run envelope arrived.
        ...(payload === '$' ? {} : { payload: TaskInput.fromObject(payload) }),
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

    // A plan, aggregate or heal claim that fails for good is recorded, so GET answers "failed" with
    // Step Functions' error, and the execution fails with it.
    const recordFailure = step('RecordFailure', STEP_PAYLOADS.failed, JsonPath.DISCARD).next(
      new Fail(this, 'BatchFailed', {
        errorPath: `${STATE_PATHS.failure}.Error`,
        causePath: `${STATE_PATHS.failure}.Cause`,
      }),
    );
    const failsInto = (task: TaskStateBase) =>
      task.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: STATE_PATHS.failure });

    // Every payload and path is the function's own (orchestration/chunked/steps.ts): the events it parses.
    const plan = failsInto(step('Plan', STEP_PAYLOADS.plan));
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
    failsInto(aggregate);
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

    // A scheduled batch's first run that left items failed heals once: it waits, claims a retry run
    // of the unfinished items (the output is that run's job), and plans it like any other. A retry
    // never heals again; a claim that finds nothing to do (a user's retry came first) ends here.
    const ran = plan.next(chunks).next(aggregate);
    if (settings.healDelaySeconds > 0) {
      const claimHeal = failsInto(step('ClaimHeal', STEP_PAYLOADS.heal));
      ran.next(
        new Choice(this, 'HealOrEnd')
          .when(
            Condition.and(
              Condition.isPresent(STATE_PATHS.scheduled),
              // Not IsPresent, the same rule to Step Functions: aws-local-stepfunctions 3.0.0, which
              // runs this definition locally, reads `IsPresent: false` as false on a missing field
              // (test/integration/local-engine.test.ts holds it).
              Condition.not(Condition.isPresent(STATE_PATHS.retry)),
              Condition.numberGreaterThan(STATE_PATHS.summaryFailed, 0),
            ),
            new Wait(this, 'HealDelay', { time: WaitTime.duration(Duration.seconds(settings.healDelaySeconds)) })
              .next(claimHeal)
              .next(
                new Choice(this, 'HealClaimed')
                  .when(Condition.isPresent(STATE_PATHS.retry), plan)
                  .otherwise(new Succeed(this, 'NothingToHeal')),
              ),
          )
          .otherwise(outcome),
      );
    } else {
      ran.next(outcome);
    }

    // The schedule starts this machine directly; Scheduler cannot name an execution, so the
    // envelope's execution starts the batch's own, named after it: at most one per scheduled time.
    const stateMachineArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: props.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const startBatch = new StepFunctionsStartExecution(this, 'StartBatch', {
      stateMachine: StateMachine.fromStateMachineArn(this, 'Self', stateMachineArn),
      name: JsonPath.stringAt('$.batchId'),
      input: TaskInput.fromJsonPathAt('$'),
      associateWithParent: false,
      resultPath: JsonPath.DISCARD,
    });
    startBatch.addCatch(new Succeed(this, 'AlreadyStarted'), {
      errors: ['StepFunctions.ExecutionAlreadyExistsException'],
    });
    const admit = step('Admit', STEP_PAYLOADS.admit).next(startBatch).next(new Succeed(this, 'Started'));

    const logGroup = new LogGroup(this, 'Logs', {
      retention: settings.logRetentionDays as RetentionDays,
      removalPolicy: settings.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(
        new Choice(this, 'RunOrJob').when(Condition.isPresent(STATE_PATHS.kind), admit).otherwise(plan),
      ),
      timeout: Duration.hours(24),
      tracingEnabled: true,
      // Every state transition logged, without the data (requests and results stay in S3).
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
  }
}
