import type { APIGatewayProxyEvent } from 'aws-lambda';
import { AppError } from '../contracts/errors.js';
import type { WorkflowEvent } from '../orchestration/chunked/index.js';
import type { HealEvent } from '../orchestration/heal.js';
import type { RunEvent } from '../orchestration/schedule.js';
import type { JobEvent } from './launchers.js';

/** An event this function acts on, by its shape. */
export type RecognizedEvent =
  | { type: 'api'; event: APIGatewayProxyEvent }
  | { type: 'job'; event: JobEvent }
  | { type: 'workflow'; event: WorkflowEvent }
  | { type: 'run'; event: RunEvent }
  | { type: 'heal'; event: HealEvent };

/** An event of no shape this function knows: refused, and nothing starts. */
export class UnrecognizedEventError extends AppError {
  constructor(what: string) {
    super(
      'UNRECOGNIZED_EVENT',
      `Refused ${what}: this function answers API Gateway proxy events, its own jobs and workflow steps, and ` +
        '{"kind":"picsum-batch.run","request":{...}} (the schedule\'s payload, or a direct invocation)',
    );
    this.name = 'UnrecognizedEventError';
  }
}

type Loose = Record<string, unknown>;
const isObject = (value: unknown): value is Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';

/** A REST API (v1) proxy event: a method, a path, and headers (an object, or null when there are none). */
const isApiEvent = (event: Loose) =>
  isString(event.httpMethod) && isString(event.path) && (event.headers === null || isObject(event.headers));

const isJob = (value: unknown) => isObject(value) && isString(value.batchId) && isObject(value.request);

function isWorkflowEvent(event: Loose): boolean {
  switch (event.kind) {
    case 'picsum-batch.plan':
      return isJob(event.job);
    case 'picsum-batch.chunk':
      return isJob(event.task) && isObject((event.task as Loose).chunk);
    case 'picsum-batch.aggregate':
      return isJob(event.plan) && Array.isArray((event.plan as Loose).chunks);
    case 'picsum-batch.failed':
      return isString(event.batchId) && isObject(event.failure);
    // Stryker disable next-line ConditionalExpression: equivalent — without it the function returns undefined, as falsy
    default:
      return false;
  }
}

/** A few words on what arrived, for the refusal: never the whole event, which may be large. */
export function describeEvent(event: unknown): string {
  if (!isObject(event))
    return `an event that is ${event === null ? 'null' : Array.isArray(event) ? 'an array' : `a ${typeof event}`}`;
  const records = event.Records;
  if (Array.isArray(records)) {
    const first = records[0] as Loose | undefined;
    const source = first?.eventSource ?? first?.EventSource ?? 'an unknown source';
    return `an event of ${records.length} record(s) from ${String(source).slice(0, 60)}`;
  }
  if (isString(event['detail-type']) || isString(event.source)) {
    return `an EventBridge event (source ${JSON.stringify(String(event.source).slice(0, 60))}, detail-type ${JSON.stringify(String(event['detail-type']).slice(0, 60))})`;
  }
  const keys = Object.keys(event);
  if (keys.length === 0) return 'an empty event {}';
  const shown = keys.slice(0, 8).map((key) => JSON.stringify(key.slice(0, 40)));
  const kind = isString(event.kind) ? ` of kind ${JSON.stringify(event.kind.slice(0, 60))}` : '';
  return `an event${kind} with keys ${shown.join(', ')}${keys.length > 8 ? ', ...' : ''}`;
}

/**
 * Recognizes an event by its explicit shape: an API Gateway proxy event, this function's own
 * background job, a step of the batch state machine, a run envelope (`kind: picsum-batch.run`,
 * what the schedule sends), or a scheduled batch's heal (`kind: picsum-batch.heal`, after its delay). Anything else — `{}`, an S3 or SQS notification, an EventBridge rule
 * event, a bare request — throws an UnrecognizedEventError naming what arrived.
 */
export function recognizeEvent(event: unknown): RecognizedEvent {
  if (isObject(event)) {
    if (isApiEvent(event)) return { type: 'api', event: event as unknown as APIGatewayProxyEvent };
    if (event.kind === 'picsum-batch.job' && isJob(event.job)) return { type: 'job', event: event as JobEvent };
    if (isWorkflowEvent(event)) return { type: 'workflow', event: event as unknown as WorkflowEvent };
    if (event.kind === 'picsum-batch.run') return { type: 'run', event: event as RunEvent };
    if (event.kind === 'picsum-batch.heal' && isString(event.batchId))
      return { type: 'heal', event: event as HealEvent };
  }
  throw new UnrecognizedEventError(describeEvent(event));
}
