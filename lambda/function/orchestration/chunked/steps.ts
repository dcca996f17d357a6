import type { Config } from '../../contracts/config.js';
import type { BatchResult } from '../../contracts/result.js';
import type {
  AggregateEvent,
  BatchPlan,
  ChunkEvent,
  ChunkTask,
  FailedEvent,
  HealEvent,
  PlanEvent,
} from '../../contracts/steps.js';
import type { Deps } from '../../pipeline/item-context.js';
import type { BatchJob } from '../batch.js';
import type { RunEvent } from '../schedule.js';

export type { BatchPlan, ChunkTask } from '../../contracts/steps.js';

export type { ChunkProgress, ChunkRecord, ChunkSummary } from '../records.js';

/** What the aggregate step returns to Step Functions: the result itself is in the manifest. */
export type AggregateSummary = Pick<
  BatchResult,
  'batchId' | 'requested' | 'succeeded' | 'failed' | 'elapsedMs' | 'manifestKey'
> & { missingChunks: number[] };

export type Options = { config: Config; deps: Deps };

/**
 * The state machine's steps, each an event for the workflow function. Their payloads are built by
 * the templates below (infra/batch-workflow.ts uses them as they are), so the events the function
 * parses and the ones the state machine sends are defined here once.
 */
export type { AggregateEvent, ChunkEvent, FailedEvent, HealEvent, PlanEvent } from '../../contracts/steps.js';
export type WorkflowEvent = PlanEvent | ChunkEvent | AggregateEvent | FailedEvent;
/** The schedule's run envelope, as Scheduler starts the machine with it: admitted, it becomes a job. */
export type AdmitEvent = RunEvent;
export type StepEvent = WorkflowEvent | HealEvent | AdmitEvent;

export const STEP_KINDS = [
  'picsum-batch.run',
  'picsum-batch.plan',
  'picsum-batch.chunk',
  'picsum-batch.aggregate',
  'picsum-batch.failed',
  'picsum-batch.heal',
] as const satisfies readonly StepEvent['kind'][];

/** An execution's input: a job (its plan's), or the schedule's run envelope (see AdmitEvent). */
export type ExecutionInput = BatchJob | AdmitEvent;

/** A JSONPath into an execution's state: a field of its input, or one the states add. */
type StatePath = `$.${(keyof BatchPlan | 'kind' | 'failure' | 'summary' | 'mapError') & string}${'' | `.${string}`}`;

/**
 * A Step Functions payload template for event `E`: `kind` as it is, every other field taken from
 * the state by a JSONPath (`field.$`). The compiler holds each template to its event's fields.
 */
type Template<E extends { kind: string }, Context extends string = never> = { kind: E['kind'] } & {
  [K in Exclude<keyof E, 'kind'> & string as `${K}.$`]-?: '$' | StatePath | Context;
};

/** The payload each task state sends the workflow function. */
export const STEP_PAYLOADS = {
  plan: { kind: 'picsum-batch.plan', 'job.$': '$', 'execution.$': '$$.Execution.Name' },
  chunk: { kind: 'picsum-batch.chunk', 'task.$': '$' },
  aggregate: { kind: 'picsum-batch.aggregate', 'plan.$': '$' },
  failed: {
    kind: 'picsum-batch.failed',
    'batchId.$': '$.batchId',
    'requested.$': '$.request.count',
    'failure.$': '$.failure',
  },
  heal: { kind: 'picsum-batch.heal', 'batchId.$': '$.batchId' },
  /** The envelope as Scheduler started the machine with it: the function checks it as a run event. */
  admit: '$',
} as const satisfies {
  plan: Template<PlanEvent, '$$.Execution.Name'>;
  chunk: Template<ChunkEvent>;
  aggregate: Template<AggregateEvent>;
  failed: Template<FailedEvent>;
  heal: Template<HealEvent>;
  admit: '$';
};

/** The map's item selector: each chunk's task, from the plan and the chunk the map hands out. */
export const CHUNK_TASK_SELECTOR = {
  'batchId.$': '$.batchId',
  'request.$': '$.request',
  'concurrency.$': '$.concurrency',
  'startedAt.$': '$.startedAt',
  'chunk.$': '$$.Map.Item.Value',
} as const satisfies { [K in keyof ChunkTask as `${K & string}.$`]-?: StatePath | '$$.Map.Item.Value' };

/** Where the state keeps what the steps add to the plan: the chunks to map over, a failure caught, the aggregate's summary. */
export const STATE_PATHS = {
  chunks: '$.chunks',
  failure: '$.failure',
  summary: '$.summary',
  mapError: '$.mapError',
  /** Present on a run envelope only: a job has no `kind`. */
  kind: '$.kind',
  scheduled: '$.scheduled',
  retry: '$.retry',
  summaryFailed: '$.summary.failed',
} as const satisfies Record<string, StatePath>;
