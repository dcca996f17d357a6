// How an entry refuses an event: never the whole event in the error, only a few words on it.
import { AppError } from '../contracts/errors.js';

/** An event of no kind this entry answers: refused, and nothing starts. */
export class UnrecognizedEventError extends AppError {
  constructor(what: string, answers: string) {
    super('UNRECOGNIZED_EVENT', `Refused ${what}: this function answers ${answers}`);
    this.name = 'UnrecognizedEventError';
  }
}

/** An event of a kind this entry answers whose contents do not check out: refused, and nothing starts. */
export class InvalidEventError extends AppError {
  constructor(kind: string, why: string) {
    super('INVALID_EVENT', `Refused a ${kind} event: ${why}`);
    this.name = 'InvalidEventError';
  }
}

type Loose = Record<string, unknown>;
export const isObject = (value: unknown): value is Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';

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
  if (isString(event.httpMethod)) {
    return `an API Gateway request (${event.httpMethod.slice(0, 10)} ${String(event.path).slice(0, 60)})`;
  }
  const keys = Object.keys(event);
  if (keys.length === 0) return 'an empty event {}';
  const shown = keys.slice(0, 8).map((key) => JSON.stringify(key.slice(0, 40)));
  const kind = isString(event.kind) ? ` of kind ${JSON.stringify(event.kind.slice(0, 60))}` : '';
  return `an event${kind} with keys ${shown.join(', ')}${keys.length > 8 ? ', ...' : ''}`;
}
