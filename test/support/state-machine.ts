import type { Template } from 'aws-cdk-lib/assertions';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

/** The state machine's definition as synthesized, parsed: CloudFormation tokens become "<token>". */
export function definitionOf(template: Template) {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const parts = machine?.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : '<token>')).join(''));
}

type Json = Record<string, unknown>;
type State = Json & { Type: string; ItemProcessor?: { States: Record<string, State> } };
type Machine = { StartAt: string; States: Record<string, State> };

/** The name of every Task state, those inside a Map's processor included. */
function taskNames(machine: Pick<Machine, 'States'>): string[] {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    ...(state.Type === 'Task' ? [name] : []),
    ...(state.ItemProcessor ? taskNames(state.ItemProcessor) : []),
  ]);
}

/**
 * Runs a synthesized definition in aws-local-stepfunctions (Choice, Map with ItemsPath and
 * ItemSelector, Catch, Retry, Wait, Succeed and Fail as Step Functions evaluates them), with every
 * Lambda task calling `invoke` with the payload the definition builds. Waits are not slept: each
 * lasts no time, and its seconds show in `visited` as `waited N`; retries come at once. What it does not model (a
 * DISTRIBUTED map's child executions, ToleratedFailurePercentage) the template assertions cover.
 * `visited` lists the top-level states entered, in order.
 */
export async function runDefinition(
  machine: Machine,
  input: unknown,
  invoke: (payload: Json) => Promise<unknown>,
): Promise<{ status: 'SUCCEEDED' | 'FAILED'; output: unknown; visited: string[] }> {
  const stateMachine = new StateMachine(machine as unknown as StateMachineDefinition, {
    // The Lambda ARNs are CloudFormation tokens until deployed; every task runs `invoke` instead.
    validationOptions: { checkArn: false },
  });
  const waits = Object.entries(machine.States).filter(([, state]) => state.Type === 'Wait');
  const tasks = taskNames(machine);
  // Named as the engine names a batch's execution: after its batch.
  const name = (input as { batchId?: string }).batchId ?? 'local-run';
  const execution = stateMachine.run(input as never, {
    context: { Execution: { Id: `local:${name}`, Name: name } },
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(
        tasks.map((name) => [name, (payload: unknown) => invoke(payload as Json) as never]),
      ),
      waitTimeOverrides: Object.fromEntries(waits.map(([name]) => [name, 0])),
      retryIntervalOverrides: Object.fromEntries(tasks.map((name) => [name, 0])),
    },
  });
  const visited: string[] = [];
  let failure: { error: string; cause: unknown } | undefined;
  const events = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'ExecutionFailed') failure = { error: event.Error, cause: event.Cause };
      // Top-level states only: a Map's iterations carry the index of their item.
      if (event.type !== 'StateEntered' || event.index !== undefined) continue;
      visited.push(event.state.name);
      const wait = machine.States[event.state.name];
      if (wait?.Type === 'Wait') visited.push(`waited ${secondsOf(wait, event.state.input)}`);
    }
  })();
  try {
    const output = await execution.result;
    await events;
    return { status: 'SUCCEEDED', output, visited };
  } catch (error) {
    await events;
    if (!(error instanceof ExecutionError) || !failure) throw error;
    return { status: 'FAILED', output: failure, visited };
  }
}

/** A Wait state's seconds: `Seconds`, or the number at `SecondsPath` (`$.a.b`) in its input. */
function secondsOf(state: State, input: unknown): unknown {
  if (typeof state.SecondsPath !== 'string') return state.Seconds;
  return state.SecondsPath.split('.')
    .slice(1)
    .reduce<unknown>((value, key) => (value as Json | undefined)?.[key], input);
}
