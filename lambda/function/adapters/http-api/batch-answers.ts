// How a batch is answered: run now (200), started in the background (202), or refused with its batch named.
import type { APIGatewayProxyResult } from 'aws-lambda';
import { AppError, type ErrorCode, RequestError } from '../../contracts/errors.js';
import type { BatchJob } from '../../orchestration/batch.js';
import { LaunchError, type Started } from '../../orchestration/batch-service.js';
import type { BatchStatus } from '../../orchestration/lifecycle.js';
import { type ApiContext, SYNC_BUDGET_MS } from './api-context.js';
import { errorHeaders, HTTP_STATUS, json } from './responses.js';

/** Where to watch a batch, relative to the API's root (its stage): the body's `statusUrl`. */
export const statusUrlOf = (batchId: string) => `/batches/${batchId}`;

/** An error about a batch that exists: the usual `{error}` body, plus where to watch the batch. */
export const batchError = (code: ErrorCode, message: string, batchId: string, headers: Record<string, string>) =>
  json(
    HTTP_STATUS[code],
    { error: { code, message }, batchId, statusUrl: statusUrlOf(batchId) },
    { ...errorHeaders(code), ...headers },
  );

/** A 202: the batch runs elsewhere; `Location` (and `statusUrl`) say where to watch it. */
export const acceptedAnswer = (
  batchId: string,
  status: string,
  context: ApiContext,
  headers: Record<string, string> = {},
) =>
  json(
    202,
    { batchId, status, statusUrl: statusUrlOf(batchId) },
    {
      location: `${context.basePath ?? ''}${statusUrlOf(batchId)}`,
      ...headers,
    },
  );

/**
 * Starts a job as the batch service places it: run in this invocation up to SYNC_MAX_COUNT items
 * (200 with its result), else started on the engine (202 with where to watch it, or 503 with
 * Retry-After when the start failed for good: nothing is recorded, and `repeat` starts it).
 * `onTheEngine`: start it there whatever its size (the repeat of a batch whose request died).
 */
export async function start(
  job: BatchJob,
  context: ApiContext,
  /** What a client repeats to start the batch after a failed start (the same Idempotency-Key, or the retry). */
  repeat = 'repeat the request to run it as a new batch',
  { onTheEngine = false } = {},
): Promise<APIGatewayProxyResult> {
  const { batchId } = job;
  // Keep 2 s after the deadline to write the manifest and answer.
  const budget = Math.min(SYNC_BUDGET_MS, context.remainingMs - 2_000);
  let started: Started;
  try {
    started = await context.batches.start(job, {
      hereUpTo: onTheEngine ? 0 : context.batches.config.syncMaxCount,
      deadlineAt: Date.now() + Math.max(0, budget),
      ...(context.cancel ? { cancel: context.cancel } : {}),
    });
  } catch (error) {
    if (!(error instanceof LaunchError)) throw error;
    context.log.error('Batch could not be started', { batchId, error });
    // A full queue of the dev server refused it: said as such (try later), not as a start that broke.
    const refusal = error.cause instanceof AppError && error.cause.code === 'QUEUE_FULL' ? error.cause : error;
    return batchError(
      refusal.code,
      `${refusal.message}. Nothing of batch ${batchId} is recorded; ${repeat}.`,
      batchId,
      {},
    );
  }
  if (!started.ranNow) {
    context.log.info('Batch accepted', { batchId, requested: job.request.count, retry: job.retry });
    return acceptedAnswer(batchId, 'accepted', context);
  }
  const { result } = started;
  const { succeeded, failed, elapsedMs } = result;
  context.log.info('Batch finished', { batchId, succeeded, failed, elapsedMs });
  context.onResult?.(result);
  return json(200, result);
}

/** A batch that ended without a result: the client learns so, and that a new key runs it afresh. */
export function failedAnswer(status: Extract<BatchStatus, { status: 'failed' }>, headers: Record<string, string>) {
  const message = `Batch ${status.batchId} failed (${status.error}): ${status.cause}. Use a new Idempotency-Key to run it again.`;
  return batchError('BATCH_FAILED', message, status.batchId, headers);
}

export const noSuchBatch = (batchId: string) => new RequestError(`No batch ${batchId}`, { code: 'NOT_FOUND' });
