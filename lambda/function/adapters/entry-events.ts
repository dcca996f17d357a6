// Each entry's events, checked by its own schema before anything is read, written or fetched.
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import type { Config } from '../contracts/config.js';
import { messageOf } from '../contracts/errors.js';
import { parseRequest, type RequestLimits } from '../contracts/request.js';
import { type BatchJob, type Chunk, STEP_SHAPES } from '../contracts/steps.js';
import { STEP_KINDS, type StepEvent } from '../orchestration/chunked/index.js';
import type { RunEvent } from '../orchestration/schedule.js';
import { describeEvent, InvalidEventError, isObject, UnrecognizedEventError } from './event-refusal.js';

/** The API entry's event: a REST API (v1) proxy event, as far as the router reads it. */
const apiShape = z.looseObject({
  httpMethod: z.string(),
  path: z.string(),
  headers: z.nullable(z.record(z.string(), z.unknown())),
});

/** `value` parsed by `schema`, or an InvalidEventError naming the first field that failed and its value. */
function parsed<T>(kind: string, schema: z.ZodMiniType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  // A failed parse has at least one issue, and its path runs through values that are there: the
  // fallbacks below are for the types.
  const issue = result.error.issues[0];
  // Stryker disable next-line OptionalChaining,ArrayDeclaration: equivalent — see above
  const path = ['event', ...(issue?.path ?? [])].join('.');
  // Stryker disable next-line OptionalChaining: equivalent — see above
  const got = issue?.path.reduce<unknown>((inner, key) => (inner as Record<PropertyKey, unknown>)?.[key], value);
  throw new InvalidEventError(kind, `\`${path}\` is not valid (got ${JSON.stringify(got)?.slice(0, 80)})`);
}

/** A job's request checked by the API's rules, its retry within it: the job with its request as parsed. */
function checkedJob<T extends { request: unknown; retry?: { run: number; items: number } }>(
  kind: string,
  job: T,
  limits: RequestLimits,
  at: string,
): T & Pick<BatchJob, 'request'> {
  let request: BatchJob['request'];
  try {
    request = parseRequest(job.request, limits);
  } catch (error) {
    throw new InvalidEventError(kind, `\`${at}.request\`: ${messageOf(error)}`);
  }
  if (job.retry && job.retry.items > request.count) {
    throw new InvalidEventError(
      kind,
      `\`${at}.retry.items\` is ${job.retry.items}, more than the batch's ${request.count}`,
    );
  }
  return { ...job, request };
}

/** Chunks within the items the job runs (its request, or its retry's), each of the job's own run. */
function checkChunks(kind: string, chunks: readonly Chunk[], job: Pick<BatchJob, 'request' | 'retry'>) {
  const size = job.retry?.items ?? job.request.count;
  for (const [i, each] of chunks.entries()) {
    if (each.end <= each.start || each.end > size) {
      throw new InvalidEventError(
        kind,
        `chunk ${i} covers ${each.start}..${each.end}, not within the ${size} items it runs`,
      );
    }
    if (each.retry !== job.retry?.run) {
      throw new InvalidEventError(
        kind,
        `chunk ${i} is of run ${each.retry ?? 0}, not the job's ${job.retry?.run ?? 0}`,
      );
    }
  }
}

/** The event's `kind` when it is one of `kinds`; else it is refused as not this entry's, naming what it is. */
function kindOf<K extends string>(event: unknown, kinds: readonly K[], answers: string): K {
  const kind = isObject(event) ? event.kind : undefined;
  if (kinds.includes(kind as K)) return kind as K;
  throw new UnrecognizedEventError(describeEvent(event), answers);
}

export const API_ANSWERS = 'API Gateway REST proxy events only';
export const WORKFLOW_ANSWERS = `only the batch state machine's steps (${STEP_KINDS.map((kind) => JSON.stringify(kind)).join(', ')})`;

/** The API entry's event: a REST API (v1) proxy event, with a method, a path and headers (an object, or null). */
export function parseApiEvent(event: unknown): APIGatewayProxyEvent {
  if (!apiShape.safeParse(event).success) throw new UnrecognizedEventError(describeEvent(event), API_ANSWERS);
  return event as APIGatewayProxyEvent;
}

/**
 * A run envelope (the schedule's, or one a user starts the machine with): its request checked by
 * the API's rules; its schedule name and time come together (its batch id derives from them) or not
 * at all.
 */
function parseRunEnvelope(event: unknown, config: Config): RunEvent {
  const kind = 'picsum-batch.run';
  const run = parsed(kind, STEP_SHAPES[kind], event);
  const { request } = checkedJob(kind, { request: run.request ?? {} }, config, 'event');
  const { scheduleName, scheduledTime } = run;
  if (scheduleName === undefined && scheduledTime === undefined) return { kind, request };
  const time = scheduleTime(scheduledTime);
  if (typeof scheduleName !== 'string' || !/[A-Za-z0-9]/.test(scheduleName) || time === undefined) {
    throw new InvalidEventError(
      kind,
      `expected \`event.scheduleName\` (a name) and \`event.scheduledTime\` (a UTC time as Scheduler sends it, 2000 to a day from now) together, got ${JSON.stringify(String(scheduleName)).slice(0, 80)} and ${JSON.stringify(String(scheduledTime)).slice(0, 40)}`,
    );
  }
  return { kind, request, schedule: { name: scheduleName, time } };
}

/** The earliest schedule time taken; the latest is a day from now (Scheduler sends the time it fires). */
const FIRST_SCHEDULE_TIME = Date.parse('2000-01-01T00:00:00Z');
const DAY_MS = 86_400_000;

/**
 * A schedule's time as EventBridge Scheduler sends it (`2026-12-02T02:00:00Z`), in milliseconds;
 * undefined for anything else (`"1"`, which Date.parse reads as 2001) or outside the years a batch
 * id can carry (`+275760-09-13T00:00:00Z`).
 */
function scheduleTime(value: unknown): number | undefined {
  // Stryker disable next-line ConditionalExpression,Regex: a non-string never matches the pattern (the check narrows the
  // type), and Date.parse takes nothing after the Z (without the $ the same times are refused below)
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/.test(value))
    return undefined;
  const time = Date.parse(value);
  return time >= FIRST_SCHEDULE_TIME && time <= Date.now() + DAY_MS ? time : undefined;
}

/**
 * The workflow entry's events, one per step of the state machine: batch ids by their pattern,
 * requests by the request schema, retries and chunks within their batch.
 */
export function parseStepEvent(event: unknown, config: Config): StepEvent {
  const kind = kindOf(event, STEP_KINDS, WORKFLOW_ANSWERS);
  switch (kind) {
    case 'picsum-batch.run':
      return parseRunEnvelope(event, config);
    case 'picsum-batch.plan': {
      const { job, execution } = parsed(kind, STEP_SHAPES[kind], event);
      return { kind, job: checkedJob(kind, job, config, 'event.job'), execution };
    }
    case 'picsum-batch.chunk': {
      const task = checkedJob(kind, parsed(kind, STEP_SHAPES[kind], event).task, config, 'event.task');
      if (task.concurrency > config.maxConcurrency) {
        throw new InvalidEventError(
          kind,
          `\`event.task.concurrency\` is over MAX_CONCURRENCY (${config.maxConcurrency})`,
        );
      }
      const { retry: run } = task.chunk;
      checkChunks(kind, [task.chunk], { ...task, ...(run ? { retry: { run, items: task.request.count } } : {}) });
      return { kind, task };
    }
    case 'picsum-batch.aggregate': {
      const plan = checkedJob(kind, parsed(kind, STEP_SHAPES[kind], event).plan, config, 'event.plan');
      checkChunks(kind, plan.chunks, plan);
      return { kind, plan };
    }
    // Stryker disable next-line ConditionalExpression: falling through, the next case parses by this kind's schema too
    case 'picsum-batch.failed':
      return parsed(kind, STEP_SHAPES[kind], event);
    case 'picsum-batch.heal':
      return parsed(kind, STEP_SHAPES[kind], event);
  }
}
