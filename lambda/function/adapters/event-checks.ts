import * as z from 'zod/mini';
import type { Config } from '../contracts/config.js';
import { AppError, messageOf } from '../contracts/errors.js';
import { BATCH_ID_PATTERN, parseRequest, type RequestLimits } from '../contracts/request.js';
import type { BatchJob } from '../orchestration/batch.js';
import type { BatchPlan, ChunkTask, WorkflowEvent } from '../orchestration/chunked/index.js';
import { MAX_CHUNKS } from '../orchestration/plan.js';
import type { RecognizedEvent } from './events.js';

/** An event of a kind this function knows whose contents do not check out: refused, and nothing starts. */
export class InvalidEventError extends AppError {
  constructor(kind: string, why: string) {
    super('INVALID_EVENT', `Refused a ${kind} event: ${why}`);
    this.name = 'InvalidEventError';
  }
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().check(z.int(), z.minimum(min), z.maximum(max));
const batchId = z.string().check(z.regex(BATCH_ID_PATTERN));
const isoTime = z.string().check(z.refine((value) => !Number.isNaN(Date.parse(value)), 'an ISO time'));
const retry = z.object({ run: int(1), items: int(1) });
const chunk = z.object({ chunk: int(0, MAX_CHUNKS - 1), start: int(0), end: int(1), retry: z.optional(int(1)) });

/** The parts of a job every workflow event carries; `request` is checked by parseRequest, as the API's body is. */
const jobShape = { batchId, request: z.unknown(), retry: z.optional(retry), scheduled: z.optional(z.literal(true)) };
const shapes = {
  job: z.object(jobShape),
  task: z.object({ batchId, request: z.unknown(), concurrency: int(1), startedAt: isoTime, chunk }),
  plan: z.object({
    ...jobShape,
    concurrency: int(1),
    parallelChunks: int(1),
    startedAt: isoTime,
    chunks: z.array(chunk).check(z.minLength(1), z.maxLength(MAX_CHUNKS)),
  }),
  failed: z.object({
    batchId,
    requested: int(0),
    failure: z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) }),
  }),
  heal: z.object({ batchId }),
};

/** `value` parsed by `schema`, or an InvalidEventError naming the first field that failed and its value. */
function parsed<T>(kind: string, schema: z.ZodMiniType<T>, value: unknown, at: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [at, ...(issue?.path ?? [])].join('.');
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
function checkChunks(kind: string, chunks: readonly z.infer<typeof chunk>[], job: Pick<BatchJob, 'request' | 'retry'>) {
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

function checkWorkflow(event: WorkflowEvent, config: Config): WorkflowEvent {
  const { kind } = event;
  switch (event.kind) {
    case 'picsum-batch.plan': {
      const job = checkedJob(kind, parsed(kind, shapes.job, event.job, 'job'), config, 'job');
      return { kind: event.kind, job };
    }
    case 'picsum-batch.chunk': {
      const task = checkedJob(kind, parsed(kind, shapes.task, event.task, 'task'), config, 'task');
      if (task.concurrency > config.maxConcurrency) {
        throw new InvalidEventError(kind, `\`task.concurrency\` is over MAX_CONCURRENCY (${config.maxConcurrency})`);
      }
      const { retry: run } = task.chunk;
      checkChunks(kind, [task.chunk], { ...task, ...(run ? { retry: { run, items: task.request.count } } : {}) });
      return { kind: event.kind, task: task as ChunkTask };
    }
    case 'picsum-batch.aggregate': {
      const plan = checkedJob(kind, parsed(kind, shapes.plan, event.plan, 'plan'), config, 'plan');
      checkChunks(kind, plan.chunks, plan);
      return { kind: event.kind, plan: plan as BatchPlan };
    }
    case 'picsum-batch.failed':
      return { kind: event.kind, ...parsed(kind, shapes.failed, event, 'event') };
  }
}

/**
 * Checks what a recognized event carries by the API's rules before anything is read, written or
 * fetched: batch ids by their pattern, requests by the request schema, retries and chunks within
 * their batch. Answers the event with its requests as parsed; throws an InvalidEventError naming
 * what failed. A run envelope is checked where its job is made (scheduledJob).
 */
export function checkEvent(recognized: RecognizedEvent, config: Config): RecognizedEvent {
  switch (recognized.type) {
    case 'api':
    case 'run':
      return recognized;
    case 'job': {
      const kind = recognized.event.kind;
      const job = checkedJob(kind, parsed(kind, shapes.job, recognized.event.job, 'job'), config, 'job');
      return { type: 'job', event: { kind: recognized.event.kind, job } };
    }
    case 'workflow':
      return { type: 'workflow', event: checkWorkflow(recognized.event, config) };
    case 'heal':
      parsed(recognized.event.kind, shapes.heal, recognized.event, 'event');
      return recognized;
  }
}
