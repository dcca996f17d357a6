// How a batch is answered: run now (200), started in the background (202), or refused with its batch named.
import type { APIGatewayProxyResult } from 'aws-lambda';
import { type ErrorCode, RequestError } from '../../contracts/errors.js';
import { type BatchJob, jobSize } from '../../orchestration/batch.js';
import { acceptJob, LaunchError, runJob } from '../../orchestration/jobs.js';
import type { BatchStatus } from '../../orchestration/status.js';
import { type ApiContext, SYNC_BUDGET_MS } from './api-context.js';
import { HTTP_STATUS, json } from './responses.js';

/** A claimed Idempotency-Key with no status record this long after its claim: its batch never started. */
export const CLAIM_GRACE_MS = 60_000;

/** Seconds a client should wait before repeating a request whose batch could not be launched. */
export const LAUNCH_RETRY_AFTER_S = 5;

export const statusUrlOf = (batchId: string) => `/batches/${batchId}`;

/** An error about a batch that exists: the usual `{error}` body, plus where to watch the batch. */
export const batchError = (code: ErrorCode, message: string, batchId: string, headers: Record<string, string>) =>
  json(HTTP_STATUS[code], { error: { code, message }, batchId, statusUrl: statusUrlOf(batchId) }, headers);

/** Starts a background batch: 202 once launched, 503 with Retry-After when the launch failed for good. */
export async function accept(job: BatchJob, context: ApiContext): Promise<APIGatewayProxyResult> {
  const { batchId } = job;
  try {
    await acceptJob(job, context.config, context.deps, context.launch);
  } catch (error) {
    if (!(error instanceof LaunchError)) throw error;
    context.log.error('Batch could not be launched', { batchId, error });
    return batchError(
      error.code,
      `${error.message}. It is recorded as failed; repeat the request with the same Idempotency-Key to start it again.`,
      batchId,
      { 'retry-after': String(LAUNCH_RETRY_AFTER_S) },
    );
  }
  context.log.info('Batch accepted', { batchId, requested: job.request.count, retry: job.retry });
  return json(202, { batchId, status: 'accepted', statusUrl: statusUrlOf(batchId) });
}

/** Runs a batch (or a retry of it) in this invocation and answers its result. */
export async function runNow(job: BatchJob, context: ApiContext): Promise<APIGatewayProxyResult> {
  const { config, deps } = context;
  const { batchId } = job;
  // Keep 2 s after the deadline to write the manifest and answer.
  const budget = Math.min(SYNC_BUDGET_MS, context.remainingMs - 2_000);
  const result = await runJob(job, {
    config,
    deps,
    deadlineAt: Date.now() + Math.max(0, budget),
    ...(context.cancel ? { cancel: context.cancel } : {}),
  });
  const { succeeded, failed, elapsedMs } = result;
  context.log.info('Batch finished', { batchId, succeeded, failed, elapsedMs });
  context.onResult?.(result);
  return json(200, result);
}

/** Starts a job as its size says: synchronously up to SYNC_MAX_COUNT items, in the background beyond. */
export const start = (job: BatchJob, context: ApiContext) =>
  jobSize(job) > context.config.syncMaxCount ? accept(job, context) : runNow(job, context);

/** A batch that ended without a result: the client learns so, and that a new key runs it afresh. */
export function failedAnswer(status: Extract<BatchStatus, { status: 'failed' }>, headers: Record<string, string>) {
  const message = `Batch ${status.batchId} failed (${status.error}): ${status.cause}. Use a new Idempotency-Key to run it again.`;
  return batchError('BATCH_FAILED', message, status.batchId, headers);
}

export const noSuchBatch = (batchId: string) => new RequestError(`No batch ${batchId}`, { code: 'NOT_FOUND' });
