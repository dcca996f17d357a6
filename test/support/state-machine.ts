import type { Template } from 'aws-cdk-lib/assertions';

/** The state machine's definition as synthesized, parsed: CloudFormation tokens become "<token>". */
export function definitionOf(template: Template) {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const parts = machine?.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : '<token>')).join(''));
}

type Json = Record<string, unknown>;
type State = Json & { Type: string };
type Machine = { StartAt: string; States: Record<string, State> };

/** `$`, `$.a.b` against the state input, `$$.a.b` against the context object. */
function read(path: string, input: unknown, context: Json): unknown {
  const [root, ...keys] = path.split('.');
  let value: unknown = root === '$$' ? context : input;
  for (const key of keys) value = (value as Json | undefined)?.[key];
  return value;
}

/** Parameters / ItemSelector: keys ending in `.$` take the value at their path. */
function fill(template: Json, input: unknown, context: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) out[key.slice(0, -2)] = read(value as string, input, context);
    else if (value && typeof value === 'object' && !Array.isArray(value))
      out[key] = fill(value as Json, input, context);
    else out[key] = value;
  }
  return out;
}

function place(input: unknown, result: unknown, resultPath: unknown): unknown {
  if (resultPath === null) return input;
  if (resultPath === undefined || resultPath === '$') return result;
  const key = (resultPath as string).replace(/^\$\./, '');
  return { ...(input as Json), [key]: result };
}

/**
 * Runs a synthesized definition the way Step Functions would for the subset this project uses
 * (Lambda tasks with Parameters and Catch, a Map with ItemsPath/ItemSelector/ResultPath, Choice on
 * IsPresent, Wait (recorded, not slept), Succeed with OutputPath, Fail with ErrorPath/CausePath), calling `invoke` for each
 * Lambda task. Proves the payload paths in the definition fit what the handler expects; it is not
 * Step Functions itself (no retries, no parallel children, no catch on the map).
 */
export async function runDefinition(
  machine: Machine,
  input: unknown,
  invoke: (payload: Json) => Promise<unknown>,
  context: Json = {},
): Promise<{ status: 'SUCCEEDED' | 'FAILED'; output: unknown; visited: string[] }> {
  const visited: string[] = [];
  let step: string | undefined = machine.StartAt;
  let data = input;
  while (step) {
    visited.push(step);
    const state = machine.States[step] as State;
    switch (state.Type) {
      case 'Task': {
        let result: unknown;
        try {
          result = await invoke(fill(state.Parameters as Json, data, context));
        } catch (error) {
          // As Step Functions reports a Lambda function error: its type, and the error as JSON.
          const { name, message } = error as Error;
          const failure = { Error: name, Cause: JSON.stringify({ errorType: name, errorMessage: message }) };
          const handler = (
            state.Catch as { ErrorEquals: string[]; ResultPath?: string; Next: string }[] | undefined
          )?.find((c) => c.ErrorEquals.includes('States.ALL') || c.ErrorEquals.includes(name));
          if (!handler) return { status: 'FAILED', output: failure, visited };
          data = place(data, failure, handler.ResultPath);
          step = handler.Next;
          continue;
        }
        data = place(data, result, state.ResultPath);
        break;
      }
      case 'Map': {
        const items = read(state.ItemsPath as string, data, context) as unknown[];
        const processor = state.ItemProcessor as Machine;
        const results = [];
        for (const [index, value] of items.entries()) {
          const itemContext = { ...context, Map: { Item: { Index: index, Value: value } } };
          const itemInput = fill(state.ItemSelector as Json, data, itemContext);
          results.push((await runDefinition(processor, itemInput, invoke, context)).output);
        }
        data = place(data, results, state.ResultPath);
        break;
      }
      case 'Choice': {
        const choices = state.Choices as { Variable: string; IsPresent: boolean; Next: string }[];
        const match = choices.find((c) => (read(c.Variable, data, context) !== undefined) === c.IsPresent);
        step = match?.Next ?? (state.Default as string);
        continue;
      }
      case 'Wait':
        // No sleeping here: the wait is recorded, in seconds, as the state's visit.
        visited.push(`waited ${state.SecondsPath ? read(state.SecondsPath as string, data, context) : state.Seconds}`);
        break;
      case 'Succeed':
        return {
          status: 'SUCCEEDED',
          output: state.OutputPath ? read(state.OutputPath as string, data, context) : data,
          visited,
        };
      case 'Fail': {
        const error = state.ErrorPath ? read(state.ErrorPath as string, data, context) : state.Error;
        const cause = state.CausePath ? read(state.CausePath as string, data, context) : state.Cause;
        return { status: 'FAILED', output: { error, cause }, visited };
      }
      default:
        throw new Error(`State type ${state.Type} is not modelled here`);
    }
    if (state.End) return { status: 'SUCCEEDED', output: data, visited };
    step = state.Next as string;
  }
  throw new Error('Definition ended without an end state');
}
