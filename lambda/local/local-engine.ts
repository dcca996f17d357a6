// The batch state machine in this process: the definition a deployment runs
// (batch-definition.json, written by `npm run definition` from the CDK construct), walked by
// aws-local-stepfunctions, its tasks calling the workflow function's own handler.
import type { Context } from 'aws-lambda';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { LocalStep } from '../function/adapters/answer-step.js';
import { AppError } from '../function/contracts/errors.js';
import type { Progress } from '../function/contracts/result.js';
import type { BatchJob } from '../function/orchestration/batch.js';
import { type BatchEngine, type Execution, ExecutionExistsError } from '../function/orchestration/engine.js';
import definition from './batch-definition.json' with { type: 'json' };
import { lambdaContext } from './lambda-context.js';

/** Locally there is no Lambda clock: each step gets Lambda's own maximum. */
const STEP_BUDGET_MS = 15 * 60_000;

/** The Lambda tasks of the definition, by state name: each sends its payload to the workflow handler. */
const STEP_STATES = ['Admit', 'Plan', 'RunChunk', 'Aggregate', 'RecordFailure', 'ClaimHeal'] as const;

/** A Lambda context for one local step: Lambda's longest clock, and the workflow function's name for its logs. */
export const stepContext = (): Context => lambdaContext('picsum-batch-workflow-local', STEP_BUDGET_MS);

/** Refused when too many executions run here: the API answers 503 with Retry-After, and nothing is recorded. */
export class QueueFullError extends AppError {
  constructor(limit: number) {
    super('QUEUE_FULL', `This process already runs ${limit} batches on its engine; try again later`);
    this.name = 'QueueFullError';
  }
}

/** A run's counts so far, summed over its chunks. */
export type RunCounts = Omit<Progress, 'total'>;

export type LocalEngine = BatchEngine & {
  /** The execution's end: resolves with what the engine says of it once it stops. */
  finished(name: string): Promise<Execution>;
  /** Tells `listener` the execution's counts as its chunks go (chunks run side by side). */
  watch(name: string, listener: (counts: RunCounts) => void): void;
  /** The names of the executions started here, in order. */
  names(): string[];
  /** Starts an execution with any input, as Scheduler starts the machine with its run envelope. */
  startWith(name: string, input: unknown): Promise<void>;
  /** Resolves once every execution started here has stopped. */
  drain(): Promise<void>;
  /** Refuses a start (QueueFullError) while `maxRunning` executions run: the dev server's bound on a burst. */
  limitRunning(maxRunning: number): void;
};

/**
 * The batch state machine, run in this process. Names behave as Step Functions' do while the
 * process lives: a name running with the same input answers as started, one that ended refuses.
 * A process that stops takes its executions with it: their run records then read `unfinished`,
 * and a retry finishes them.
 */
export function localEngine(options: {
  /** Invokes the workflow function with a step's payload (locally, its handler on this process's batch service). */
  invokeStep: (payload: unknown, step: LocalStep) => Promise<unknown>;
  /** Ends every chunk with its items cancelled (their manifest still written). */
  cancel?: AbortSignal;
  /** How long a scheduled batch waits before healing (the definition's HealDelay). */
  healDelaySeconds: number;
  /** Retries come at once instead of after the definition's intervals (tests). */
  retryAtOnce?: boolean;
}): LocalEngine {
  // Loaded on the first start: importing the library costs a fifth of a second, which a batch
  // answered here (or `--list`) should not pay. One machine serves every execution.
  let loaded: ReturnType<typeof loadMachine> | undefined;
  const machine = () => {
    loaded ??= loadMachine();
    return loaded;
  };
  const executions = new Map<string, { state: Execution; input: string; ended: Promise<Execution> }>();
  const watchers = new Map<string, (counts: RunCounts) => void>();
  const running = () => [...executions.values()].filter((execution) => execution.state.status === 'RUNNING').length;
  let maxRunning = Number.POSITIVE_INFINITY;

  const start = async (name: string, job: unknown): Promise<void> => {
    const input = JSON.stringify(job);
    const known = executions.get(name);
    if (known) {
      if (known.state.status === 'RUNNING' && known.input === input) return;
      throw new ExecutionExistsError(name);
    }
    if (running() >= maxRunning) throw new QueueFullError(maxRunning);
    const state: Execution = { status: 'RUNNING', startedAt: new Date().toISOString() };
    const requested = (job as Partial<BatchJob>).request?.count;
    if (typeof requested === 'number') state.requested = requested;
    const counts = new Map<number, Progress>();
    const step: LocalStep = {
      ...(options.cancel ? { cancel: options.cancel } : {}),
      onChunkProgress: (chunk, progress) => {
        counts.set(chunk, progress);
        const sum = { done: 0, succeeded: 0, failed: 0, cancelled: 0 };
        for (const each of counts.values()) {
          sum.done += each.done;
          sum.succeeded += each.succeeded;
          sum.failed += each.failed;
          sum.cancelled += each.cancelled ?? 0;
        }
        watchers.get(name)?.(sum);
      },
    };
    const handlers = Object.fromEntries(
      STEP_STATES.map((stateName) => [
        stateName,
        async (payload: unknown) => options.invokeStep(payload, step) as never,
      ]),
    );
    // Registered before anything is awaited: a second start of the name finds this one.
    const execute = async (): Promise<Execution> => {
      const { stateMachine, ExecutionError } = await machine();
      const run = stateMachine.run(JSON.parse(input), {
        context: { Execution: { Id: `local:${name}`, Name: name, StartTime: state.startedAt } },
        overrides: {
          taskResourceLocalHandlers: {
            ...handlers,
            // The schedule's envelope starts the batch's own execution, as the deployed machine does.
            StartBatch: async (parameters: unknown) => {
              const { Name, Input } = parameters as { Name: string; Input: unknown };
              try {
                await start(Name, Input);
              } catch (error) {
                if (error instanceof ExecutionExistsError) error.name = 'StepFunctions.ExecutionAlreadyExistsException';
                throw error;
              }
              return {} as never;
            },
          },
          waitTimeOverrides: { HealDelay: options.healDelaySeconds * 1000 },
          ...(options.retryAtOnce
            ? { retryIntervalOverrides: Object.fromEntries([...STEP_STATES, 'StartBatch'].map((state) => [state, 0])) }
            : {}),
        },
      });
      let failure: { error?: string; cause?: string } = {};
      const logs = (async () => {
        for await (const event of run.eventLogs) {
          if (event.type === 'ExecutionFailed') failure = { error: event.Error, cause: String(event.Cause ?? '') };
        }
      })();
      return run.result.then(
        async () => {
          await logs;
          return { ...state, status: 'SUCCEEDED' as const, stoppedAt: new Date().toISOString() };
        },
        async (error: unknown) => {
          await logs.catch(() => {});
          const failed: Execution = { ...state, status: 'FAILED', stoppedAt: new Date().toISOString() };
          const why =
            error instanceof ExecutionError ? failure : { error: (error as Error).name, cause: String(error) };
          if (why.error) failed.error = why.error;
          if (why.cause) failed.cause = why.cause;
          return failed;
        },
      );
    };
    const ended = execute().catch(
      (error: unknown): Execution => ({
        ...state,
        status: 'FAILED',
        stoppedAt: new Date().toISOString(),
        error: (error as Error).name,
        cause: String(error),
      }),
    );
    const entry = { state, input, ended };
    executions.set(name, entry);
    void ended.then((end) => {
      entry.state = end;
      watchers.delete(name);
    });
  };

  return {
    start,
    startWith: start,
    names: () => [...executions.keys()],
    async describe(name) {
      return executions.get(name)?.state;
    },
    watch(name, listener) {
      watchers.set(name, listener);
    },
    async finished(name) {
      const known = executions.get(name);
      if (!known) throw new Error(`No execution ${name} was started here`);
      return known.ended;
    },
    limitRunning(limit) {
      maxRunning = limit;
    },
    async drain() {
      await Promise.allSettled([...executions.values()].map((execution) => execution.ended));
    },
  };
}

/**
 * The library's StateMachine on the committed definition, built without validating it: validation
 * compiles the ASL schema, 28 MB of a batch's memory for a file that cannot change at run time.
 * A test validates the committed file (test/integration/local-engine.test.ts).
 */
async function loadMachine() {
  const { StateMachine, ExecutionError } = await import('aws-local-stepfunctions');
  const stateMachine = new StateMachine(definition as unknown as StateMachineDefinition, {
    validationOptions: { noValidate: true },
  });
  return { stateMachine, ExecutionError };
}
