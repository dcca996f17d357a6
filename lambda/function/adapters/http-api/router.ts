import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Config } from '../../contracts/config.js';
import { type ErrorCode, RequestError } from '../../contracts/errors.js';
import { BATCH_ID_PATTERN, type BatchRequest, parseBatchId, parseRequest } from '../../contracts/request.js';
import type { BatchResult } from '../../contracts/result.js';
import { type BatchJob, jobSize, newBatchId } from '../../orchestration/batch.js';
import { createdAt, DEFAULT_PAGE_SIZE, listBatches, MAX_PAGE_SIZE } from '../../orchestration/batch-list.js';
import { claimIdempotencyKey, readIdempotencyKey } from '../../orchestration/idempotency.js';
import {
  acceptJob,
  claimRelaunch,
  LaunchError,
  type Launcher,
  readStatus,
  relaunchable,
  runJob,
} from '../../orchestration/jobs.js';
import { checkRequestPhotos } from '../../orchestration/photos.js';
import { claimRetry } from '../../orchestration/retry-claim.js';
import type { BatchStatus } from '../../orchestration/status.js';
import type { Deps } from '../../pipeline/item-context.js';
import { errorResponse, HTTP_STATUS, json } from './responses.js';

/** Largest request body accepted (API Gateway itself allows 10 MB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** API Gateway cuts integrations at 29 s: a synchronous batch must be answered well before. */
export const SYNC_BUDGET_MS = 25_000;

export type ApiContext = {
  config: Config;
  deps: Deps;
  /** Milliseconds until the runtime stops us (the Lambda context's remaining time). */
  remainingMs: number;
  launch: Launcher;
  log: ApiLog;
  /** Called with every batch answered synchronously (metrics). */
  onResult?: (result: BatchResult) => void;
  /** Cancels synchronous batches in flight (the dev server stopping); unset in Lambda. */
  cancel?: AbortSignal;
};

/** A claimed Idempotency-Key with no status record this long after its claim: its batch never started. */
const CLAIM_GRACE_MS = 60_000;

/** Seconds a client should wait before repeating a request whose batch could not be launched. */
const LAUNCH_RETRY_AFTER_S = 5;

/** The logger methods the API needs (Powertools' Logger in Lambda, the console locally). */
export type ApiLog = {
  info(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
};

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value ?? undefined;
  return undefined;
}

function readJsonBody(event: APIGatewayProxyEvent): unknown {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw new RequestError(`Request body is over ${MAX_BODY_BYTES} bytes`, { code: 'BODY_TOO_LARGE' });
  }
  const contentType = header(event, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  // A body-less POST needs the type too: without one it is a CORS "simple request", which any web
  // page open in a browser may send (to the dev server on localhost, say) without asking first.
  if (contentType !== 'application/json') {
    throw new RequestError(`Expected Content-Type application/json, got ${JSON.stringify(contentType ?? '')}`, {
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  }
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RequestError('Request body is not valid JSON', { code: 'INVALID_JSON', field: 'body' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const got = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
    throw new RequestError(`Expected the request body to be a JSON object, got ${got}`, {
      code: 'INVALID_BODY',
      field: 'body',
    });
  }
  return body;
}

const statusUrlOf = (batchId: string) => `/batches/${batchId}`;

/** An error about a batch that exists: the usual `{error}` body, plus where to watch the batch. */
const batchError = (code: ErrorCode, message: string, batchId: string, headers: Record<string, string>) =>
  json(HTTP_STATUS[code], { error: { code, message }, batchId, statusUrl: statusUrlOf(batchId) }, headers);

/** Starts a background batch: 202 once launched, 503 with Retry-After when the launch failed for good. */
async function accept(job: BatchJob, context: ApiContext): Promise<APIGatewayProxyResult> {
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
async function runNow(job: BatchJob, context: ApiContext): Promise<APIGatewayProxyResult> {
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
const start = (job: BatchJob, context: ApiContext) =>
  jobSize(job) > context.config.syncMaxCount ? accept(job, context) : runNow(job, context);

/** A batch that ended without a result: the client learns so, and that a new key runs it afresh. */
function failedAnswer(status: Extract<BatchStatus, { status: 'failed' }>, headers: Record<string, string>) {
  const message = `Batch ${status.batchId} failed (${status.error}): ${status.cause}. Use a new Idempotency-Key to run it again.`;
  return batchError('BATCH_FAILED', message, status.batchId, headers);
}

/**
 * The answer to a request repeated with its Idempotency-Key: the batch's result when a synchronous
 * batch is done, where to watch it while it runs, and a second start when the first never
 * happened (its launch failed, or nothing was recorded long after the key was claimed). Of repeats
 * racing to start it, the one that claims the relaunch starts it; the others answer what it recorded.
 */
async function replay(
  claim: { batchId: string; claimedAt: string },
  request: BatchRequest,
  context: ApiContext,
  mayRelaunch = true,
): Promise<APIGatewayProxyResult> {
  const { batchId } = claim;
  const status = await readStatus(batchId, context.config, context.deps);
  const headers = { 'idempotent-replayed': 'true' };
  const neverStarted = relaunchable(status) || (!status && Date.now() - Date.parse(claim.claimedAt) > CLAIM_GRACE_MS);
  if (neverStarted && mayRelaunch) {
    const job = { batchId, request };
    if (!(await claimRelaunch(job, context.config, context.deps))) return replay(claim, request, context, false);
    context.log.info('Repeated request for a batch that never started; starting it', { batchId });
    return start(job, context);
  }
  if (!status) {
    throw new RequestError('This Idempotency-Key is being settled; retry the request', {
      code: 'IDEMPOTENCY_KEY_IN_USE',
      field: 'Idempotency-Key',
    });
  }
  if (relaunchable(status)) {
    const message = `Batch ${batchId} could not be started again; repeat the request with the same Idempotency-Key`;
    return batchError('LAUNCH_FAILED', message, batchId, {
      ...headers,
      'retry-after': String(LAUNCH_RETRY_AFTER_S),
    });
  }
  if (status.status === 'failed') return failedAnswer(status, headers);
  if ((status.status === 'done' || status.status === 'cancelled') && request.count <= context.config.syncMaxCount) {
    return json(200, status.result, headers);
  }
  return json(202, { batchId, status: status.status, statusUrl: statusUrlOf(batchId) }, headers);
}

async function postBatch(event: APIGatewayProxyEvent, context: ApiContext): Promise<APIGatewayProxyResult> {
  const request = parseRequest(readJsonBody(event), context.config);
  await checkRequestPhotos(request, context);
  const key = readIdempotencyKey(header(event, 'idempotency-key'));
  const claim =
    key === undefined
      ? { batchId: newBatchId(), fresh: true, claimedAt: new Date().toISOString() }
      : await claimIdempotencyKey(key, request, newBatchId(), context);
  if (!claim.fresh) {
    context.log.info('Repeated request; answering its batch', { batchId: claim.batchId });
    return replay(claim, request, context);
  }
  return start({ batchId: claim.batchId, request }, context);
}

const noSuchBatch = (batchId: string) => new RequestError(`No batch ${batchId}`, { code: 'NOT_FOUND' });

async function getBatch(batchId: string, context: ApiContext): Promise<APIGatewayProxyResult> {
  parseBatchId(batchId);
  const status = await readStatus(batchId, context.config, context.deps);
  if (!status) throw noSuchBatch(batchId);
  return json(200, status);
}

/**
 * `POST /batches/{batchId}/retry`: runs the batch's unfinished items again, into the same batch,
 * answered like `POST /batches` (200 with the updated result, or 202 for a large retry).
 */
async function retryBatch(
  batchId: string,
  event: APIGatewayProxyEvent,
  context: ApiContext,
): Promise<APIGatewayProxyResult> {
  parseBatchId(batchId);
  // A JSON body, as for POST /batches (a browser cannot send one to another origin unasked), and an empty one.
  const [field] = Object.keys(readJsonBody(event) as object);
  if (field !== undefined) {
    throw new RequestError(`A retry runs the batch's own request and takes no fields, got \`${field.slice(0, 40)}\``, {
      code: 'INVALID_BODY',
      field,
    });
  }
  const retry = await claimRetry(batchId, context);
  switch (retry.kind) {
    case 'unknown':
      throw noSuchBatch(batchId);
    case 'busy': {
      const { status } = retry;
      const what = 'retry' in status && status.retry ? `its retry ${status.retry.run} is` : 'it is';
      const message = `Batch ${batchId} cannot be retried while ${what} ${status.status}; retry it once that has finished`;
      return batchError('BATCH_RUNNING', message, batchId, {});
    }
    case 'no-manifest':
      return batchError(
        'NOTHING_TO_RETRY',
        `Batch ${batchId} ended without a manifest (${retry.status.status === 'failed' ? retry.status.error : retry.status.status}), so no item of it is recorded to retry; run it again as a new batch`,
        batchId,
        {},
      );
    case 'other-source':
      return batchError(
        'OTHER_SOURCE',
        `Batch ${batchId} was fetched from ${retry.source}, and this function fetches from ${context.config.source}; a batch keeps to one source`,
        batchId,
        {},
      );
    case 'nothing':
      context.log.info('Retry asked for a batch with nothing unfinished', { batchId });
      return json(200, retry.result);
    case 'claimed':
      context.log.info('Retrying batch', { batchId, retry: retry.job.retry });
      return start(retry.job, context);
  }
}

function methodNotAllowed(allowed: string, method: string): APIGatewayProxyResult {
  return errorResponse(
    new RequestError(`Method ${method} is not allowed here; use ${allowed}`, {
      code: 'METHOD_NOT_ALLOWED',
    }),
    { allow: allowed },
  );
}

/** `GET /batches?limit=N&cursor=C`: a page of batches, newest first (see listBatches). */
async function getBatches(event: APIGatewayProxyEvent, context: ApiContext): Promise<APIGatewayProxyResult> {
  const query = event.queryStringParameters ?? {};
  const rawLimit = query.limit ?? String(DEFAULT_PAGE_SIZE);
  const limit = /^\d{1,3}$/.test(rawLimit) ? Number(rawLimit) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) {
    throw new RequestError(
      `Expected \`limit\` to be an integer from 1 to ${MAX_PAGE_SIZE}, got ${JSON.stringify(rawLimit.slice(0, 40))}`,
      { field: 'limit' },
    );
  }
  const { cursor } = query;
  if (cursor !== undefined && (!BATCH_ID_PATTERN.test(cursor) || createdAt(cursor) === undefined)) {
    throw new RequestError(
      `Expected \`cursor\` to be the \`next\` of a page before, got ${JSON.stringify(cursor.slice(0, 140))}`,
      { field: 'cursor' },
    );
  }
  return json(200, await listBatches(context, { limit, ...(cursor === undefined ? {} : { cursor }) }));
}

/**
 * Answers an API Gateway REST proxy event: `GET /batches`, `POST /batches`, `GET /batches/{batchId}`,
 * `POST /batches/{batchId}/retry`.
 * Every failure is a JSON `{error: {code, message, field?}}`; nothing throws out of here.
 */
export async function handleApiEvent(event: APIGatewayProxyEvent, context: ApiContext): Promise<APIGatewayProxyResult> {
  const path = (event.path ?? '/').replace(/\/+$/, '') || '/';
  const method = event.httpMethod.toUpperCase();
  try {
    if (path === '/batches') {
      if (method === 'GET') return await getBatches(event, context);
      return method === 'POST' ? await postBatch(event, context) : methodNotAllowed('GET, POST', method);
    }
    const match = /^\/batches\/([^/]+)(\/retry)?$/.exec(path);
    if (match?.[1] !== undefined) {
      const batchId = event.pathParameters?.batchId ?? decodeSegment(match[1]);
      if (match[2] !== undefined) {
        return method === 'POST' ? await retryBatch(batchId, event, context) : methodNotAllowed('POST', method);
      }
      return method === 'GET' ? await getBatch(batchId, context) : methodNotAllowed('GET', method);
    }
    throw new RequestError(`No route for ${method} ${path}`, { code: 'NOT_FOUND' });
  } catch (error) {
    if (!(error instanceof RequestError)) context.log.error('Request failed', { method, path, error });
    return errorResponse(error);
  }
}
