// The HTTP API: one REST proxy event in, one JSON answer out. POST /batches runs a batch here or
// starts it on the engine; GET answers a batch's status or a page of batches; POST .../retry runs
// a batch's unfinished items again. HTTP statuses come from responses.ts only.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { AppError, type ErrorCode, RequestError } from '../../contracts/errors.js';
import { BATCH_ID_PATTERN, type BatchRequest, parseBatchId, parseRequest } from '../../contracts/request.js';
import type { BatchResult, Manifest } from '../../contracts/result.js';
import { type BatchJob, newBatchId } from '../../orchestration/batch.js';
import { createdAt, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../orchestration/batch-list.js';
import { LaunchError, type Started } from '../../orchestration/batch-service.js';
import { claimIdempotencyKey, readIdempotencyKey } from '../../orchestration/idempotency.js';
import type { BatchStatus } from '../../orchestration/lifecycle.js';
import { checkRequestPhotos } from '../../orchestration/photos.js';
import { type ApiContext, IN_REQUEST_MS, SYNC_BUDGET_MS } from './api-context.js';
import { decodeSegment, header, readJsonBody } from './http-request.js';
import { errorHeaders, errorResponse, HTTP_STATUS, json } from './responses.js';

export type { ApiContext, ApiLog } from './api-context.js';

/**
 * Answers an API Gateway REST proxy event: `GET /batches`, `POST /batches`, `GET /batches/{batchId}`,
 * `DELETE /batches/{batchId}`, `POST /batches/{batchId}/retry`.
 * Every failure is a JSON `{error: {code, message, field?}}`; nothing throws out of here.
 */
export async function handleApiEvent(event: APIGatewayProxyEvent, given: ApiContext): Promise<APIGatewayProxyResult> {
  const path = (event.path ?? '/').replace(/\/+$/, '') || '/';
  const method = event.httpMethod.toUpperCase();
  // API Gateway's requestContext.path is the path as called (`/v1/batches`); `path` is the resource's (`/batches`).
  const called = event.requestContext?.path;
  const basePath = typeof called === 'string' && called.endsWith(event.path) ? called.slice(0, -event.path.length) : '';
  const context: ApiContext = { ...given, basePath };
  try {
    if (path === '/batches') {
      if (method === 'GET') {
        onlyQuery(event, LIST_QUERY);
        return await getBatches(event, context);
      }
      onlyQuery(event, []);
      return method === 'POST' ? await postBatch(event, context) : methodNotAllowed('GET, POST', method);
    }
    const match = /^\/batches\/([^/]+)(\/retry)?$/.exec(path);
    if (match?.[1] !== undefined) {
      onlyQuery(event, []);
      const batchId = event.pathParameters?.batchId ?? decodeSegment(match[1]);
      if (match[2] !== undefined) {
        return method === 'POST' ? await retryBatch(batchId, event, context) : methodNotAllowed('POST', method);
      }
      if (method === 'DELETE') return await deleteBatch(batchId, context);
      return method === 'GET' ? await getBatch(batchId, context) : methodNotAllowed('GET, DELETE', method);
    }
    throw new RequestError(`No route for ${method} ${path}`, { code: 'NOT_FOUND' });
  } catch (error) {
    if (!(error instanceof RequestError)) context.log.error('Request failed', { method, path, error });
    return errorResponse(error);
  }
}

/** The query parameters `GET /batches` takes; no other route takes any. */
export const LIST_QUERY = ['limit', 'cursor'] as const;

/**
 * Refuses a query parameter the route does not take, naming it, as an unknown body field is
 * refused: a misspelt `limt=5` must not be read as no limit at all.
 */
function onlyQuery(event: APIGatewayProxyEvent, allowed: readonly string[]): void {
  const unknown = Object.keys(event.queryStringParameters ?? {}).find((name) => !allowed.includes(name));
  if (unknown === undefined) return;
  const takes = allowed.length ? `; it takes ${allowed.map((name) => `\`${name}\``).join(', ')}` : '; it takes none';
  throw new RequestError(`Unknown query parameter \`${unknown.slice(0, 60)}\`${takes}`, {
    field: unknown.slice(0, 60),
    code: 'UNKNOWN_FIELD',
  });
}

// POST /batches: a new batch, or the one an Idempotency-Key already names (replayed).

const SAME_KEY = 'repeat the request with the same Idempotency-Key to start it';

/**
 * The answer to a request repeated with its Idempotency-Key: the batch's result when a synchronous
 * batch is done, where to watch it while it runs, and a start when nothing started: its start
 * failed, or the request that ran it died. That start goes to the engine by the batch's name, so of
 * any number of repeats racing, one execution runs. A repeat of a batch that may still be running
 * inside its first request is told to come back.
 */
export async function replay(
  claim: { batchId: string; claimedAt: string },
  request: BatchRequest,
  context: ApiContext,
): Promise<APIGatewayProxyResult> {
  const { batchId } = claim;
  const { batches } = context;
  const manifestOf = manifestOnce(context, batchId);
  const status = await batches.status(batchId, manifestOf);
  const headers = { 'idempotent-replayed': 'true' };
  if (!status || status.status === 'unfinished') {
    const job = { batchId, request };
    const inItsRequest = batches.runsHere(job, batches.config.syncMaxCount);
    if (inItsRequest && Date.now() - Date.parse(claim.claimedAt) < IN_REQUEST_MS) {
      throw new RequestError('This Idempotency-Key is being settled; retry the request', {
        code: 'IDEMPOTENCY_KEY_IN_USE',
        field: 'Idempotency-Key',
      });
    }
    context.log.info('Repeated request for a batch that never finished starting; starting it', { batchId });
    return start(job, context, SAME_KEY, { onTheEngine: true });
  }
  if (status.status === 'failed') return failedAnswer(status, headers);
  if ((status.status === 'done' || status.status === 'cancelled') && request.count <= batches.config.syncMaxCount) {
    return json(200, await linked(status.result, context, manifestOf), headers);
  }
  return acceptedAnswer(batchId, status.status, context, headers);
}

export async function postBatch(event: APIGatewayProxyEvent, context: ApiContext): Promise<APIGatewayProxyResult> {
  const { batches } = context;
  const request = parseRequest(readJsonBody(event), batches.config);
  await checkRequestPhotos(request, batches);
  const key = readIdempotencyKey(header(event, 'idempotency-key'));
  const claim =
    key === undefined
      ? { batchId: newBatchId(), fresh: true, claimedAt: new Date().toISOString() }
      : await claimIdempotencyKey(key, request, newBatchId(), batches.records);
  if (!claim.fresh) {
    context.log.info('Repeated request; answering its batch', { batchId: claim.batchId });
    return replay(claim, request, context);
  }
  return start({ batchId: claim.batchId, request }, context, key === undefined ? undefined : SAME_KEY);
}

// GET /batches, GET /batches/{batchId}, POST /batches/{batchId}/retry.

export async function getBatch(batchId: string, context: ApiContext): Promise<APIGatewayProxyResult> {
  parseBatchId(batchId);
  const manifestOf = manifestOnce(context, batchId);
  const status = await context.batches.status(batchId, manifestOf);
  if (!status) throw noSuchBatch(batchId);
  if (status.status !== 'done' && status.status !== 'cancelled') return json(200, status);
  return json(200, { ...status, result: await linked(status.result, context, manifestOf) });
}

/** Reads the batch's manifest at most once, whether its status or its links need it first (or both). */
function manifestOnce(context: ApiContext, batchId: string): () => Promise<Manifest | undefined> {
  let manifest: Promise<Manifest | undefined> | undefined;
  return () => {
    manifest ??= context.batches.records.manifest(batchId);
    return manifest;
  };
}

/**
 * `DELETE /batches/{batchId}`: removes every object of a batch nothing runs, and answers what it
 * removed; 409 while it may run. Idempotent: a batch gone already is answered as deleted, removing nothing.
 */
export async function deleteBatch(batchId: string, context: ApiContext): Promise<APIGatewayProxyResult> {
  parseBatchId(batchId);
  const outcome = await context.batches.delete(batchId);
  if ('running' in outcome) {
    const message = `Batch ${batchId} cannot be deleted while it is ${outcome.running.status}; delete it once it has ended, or cancel it first`;
    return batchError('BATCH_RUNNING', message, batchId, {});
  }
  context.log.info('Batch deleted', { batchId, ...outcome.removal.deleted });
  return json(200, outcome.removal);
}

/**
 * A finished batch's result as the API answers it: with `links`, presigned URLs of its manifest
 * and page (BatchService.links). A batch without them (no manifest; a write of the linked page
 * failed, which is logged) is answered as it is: the result is true without them.
 */
export async function linked(
  result: BatchResult,
  context: ApiContext,
  manifestOf = () => context.batches.records.manifest(result.batchId),
): Promise<BatchResult> {
  try {
    const manifest = await manifestOf();
    const links = manifest && (await context.batches.links(manifest));
    return links ? { ...result, links } : result;
  } catch (error) {
    context.log.error('Links of a batch could not be made', { batchId: result.batchId, error });
    return result;
  }
}

/**
 * `POST /batches/{batchId}/retry`: runs the batch's unfinished items again, into the same batch,
 * answered like `POST /batches` (200 with the updated result, or 202 for a large retry).
 */
export async function retryBatch(
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
  const retry = await context.batches.claimRetry(batchId);
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
        `Batch ${batchId} was fetched from ${retry.source}, and this function fetches from ${context.batches.config.source}; a batch keeps to one source`,
        batchId,
        {},
      );
    case 'nothing':
      context.log.info('Retry asked for a batch with nothing unfinished', { batchId });
      return json(200, await linked(retry.result, context));
    case 'claimed':
      context.log.info('Retrying batch', { batchId, retry: retry.job.retry });
      return start(retry.job, context, 'repeat the retry to start it');
    case 'resume':
      context.log.info('Finishing a batch that never finished', { batchId, retry: retry.job.retry });
      return start(retry.job, context, 'repeat the retry to start it');
  }
}

export function methodNotAllowed(allowed: string, method: string): APIGatewayProxyResult {
  return errorResponse(
    new RequestError(`Method ${method} is not allowed here; use ${allowed}`, {
      code: 'METHOD_NOT_ALLOWED',
    }),
    { allow: allowed },
  );
}

/** `GET /batches?limit=N&cursor=C`: a page of batches, newest first (see listBatches). */
export async function getBatches(event: APIGatewayProxyEvent, context: ApiContext): Promise<APIGatewayProxyResult> {
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
  return json(200, await context.batches.list({ limit, ...(cursor === undefined ? {} : { cursor }) }));
}

// How a batch is answered: run now (200), started on the engine (202), or refused with its batch named.

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
  return json(200, await linked(result, context));
}

/** A batch that ended without a result: the client learns so, and that a new key runs it afresh. */
export function failedAnswer(status: Extract<BatchStatus, { status: 'failed' }>, headers: Record<string, string>) {
  const message = `Batch ${status.batchId} failed (${status.error}): ${status.cause}. Use a new Idempotency-Key to run it again.`;
  return batchError('BATCH_FAILED', message, status.batchId, headers);
}

export const noSuchBatch = (batchId: string) => new RequestError(`No batch ${batchId}`, { code: 'NOT_FOUND' });
