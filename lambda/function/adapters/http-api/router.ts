import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Config } from '../../contracts/config.js';
import { RequestError } from '../../contracts/errors.js';
import { type BatchRequest, parseRequest } from '../../contracts/request.js';
import type { BatchResult } from '../../contracts/result.js';
import { newBatchId } from '../../orchestration/batch.js';
import { claimIdempotencyKey, readIdempotencyKey } from '../../orchestration/idempotency.js';
import { acceptJob, LaunchError, type Launcher, readStatus, relaunchable, runJob } from '../../orchestration/jobs.js';
import type { BatchStatus } from '../../orchestration/status.js';
import type { Deps } from '../../pipeline/item.js';
import { errorResponse, json } from './responses.js';

/** Largest request body accepted (API Gateway itself allows 10 MB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** API Gateway cuts integrations at 29 s: a synchronous batch must be answered well before. */
export const SYNC_BUDGET_MS = 25_000;

/** Batch ids as this function makes them (time stamp and hex, or schedule name and time): never a dot or a slash. */
export const BATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

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
    throw new RequestError(`Request body is over ${MAX_BODY_BYTES} bytes`, { status: 413, code: 'BODY_TOO_LARGE' });
  }
  const contentType = header(event, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  // A body-less POST needs the type too: without one it is a CORS "simple request", which any web
  // page open in a browser may send (to the dev server on localhost, say) without asking first.
  if (contentType !== 'application/json') {
    throw new RequestError(`Expected Content-Type application/json, got ${JSON.stringify(contentType ?? '')}`, {
      status: 415,
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
const batchError = (status: number, code: string, message: string, batchId: string, headers: Record<string, string>) =>
  json(status, { error: { code, message }, batchId, statusUrl: statusUrlOf(batchId) }, headers);

/** Starts a background batch: 202 once launched, 503 with Retry-After when the launch failed for good. */
async function accept(batchId: string, request: BatchRequest, context: ApiContext): Promise<APIGatewayProxyResult> {
  try {
    await acceptJob({ batchId, request }, context.config, context.deps, context.launch);
  } catch (error) {
    if (!(error instanceof LaunchError)) throw error;
    context.log.error('Batch could not be launched', { batchId, error });
    return batchError(
      503,
      error.code,
      `${error.message}. It is recorded as failed; repeat the request with the same Idempotency-Key to start it again.`,
      batchId,
      { 'retry-after': String(LAUNCH_RETRY_AFTER_S) },
    );
  }
  context.log.info('Batch accepted', { batchId, requested: request.count });
  return json(202, { batchId, status: 'accepted', statusUrl: statusUrlOf(batchId) });
}

/** Runs a batch in this invocation and answers its result. */
async function runNow(batchId: string, request: BatchRequest, context: ApiContext): Promise<APIGatewayProxyResult> {
  const { config, deps } = context;
  // Keep 2 s after the deadline to write the manifest and answer.
  const budget = Math.min(SYNC_BUDGET_MS, context.remainingMs - 2_000);
  const result = await runJob(
    { batchId, request },
    {
      config,
      deps,
      deadlineAt: Date.now() + Math.max(0, budget),
      ...(context.cancel ? { cancel: context.cancel } : {}),
    },
  );
  const { succeeded, failed, elapsedMs } = result;
  context.log.info('Batch finished', { batchId, succeeded, failed, elapsedMs });
  context.onResult?.(result);
  return json(200, result);
}

/** Starts a batch as its size says: synchronously up to SYNC_MAX_COUNT, in the background beyond. */
const start = (batchId: string, request: BatchRequest, context: ApiContext) =>
  request.count > context.config.syncMaxCount ? accept(batchId, request, context) : runNow(batchId, request, context);

/** A batch that ended without a result: the client learns so, and that a new key runs it afresh. */
function failedAnswer(status: Extract<BatchStatus, { status: 'failed' }>, headers: Record<string, string>) {
  const message = `Batch ${status.batchId} failed (${status.error}): ${status.cause}. Use a new Idempotency-Key to run it again.`;
  return batchError(409, 'BATCH_FAILED', message, status.batchId, headers);
}

/**
 * The answer to a request repeated with its Idempotency-Key: the batch's result when a synchronous
 * batch is done, where to watch it while it runs, and a second start when the first never
 * happened (its launch failed, or nothing was recorded long after the key was claimed).
 */
async function replay(
  claim: { batchId: string; claimedAt: string },
  request: BatchRequest,
  context: ApiContext,
): Promise<APIGatewayProxyResult> {
  const { batchId } = claim;
  const status = await readStatus(batchId, context.config, context.deps);
  const headers = { 'idempotent-replayed': 'true' };
  if (relaunchable(status) || (!status && Date.now() - Date.parse(claim.claimedAt) > CLAIM_GRACE_MS)) {
    context.log.info('Repeated request for a batch that never started; starting it', { batchId });
    return start(batchId, request, context);
  }
  if (!status) {
    throw new RequestError('This Idempotency-Key is being settled; retry the request', {
      status: 409,
      code: 'IDEMPOTENCY_KEY_IN_USE',
      field: 'Idempotency-Key',
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
  const key = readIdempotencyKey(header(event, 'idempotency-key'));
  const claim =
    key === undefined
      ? { batchId: newBatchId(), fresh: true, claimedAt: new Date().toISOString() }
      : await claimIdempotencyKey(key, request, newBatchId(), context);
  if (!claim.fresh) {
    context.log.info('Repeated request; answering its batch', { batchId: claim.batchId });
    return replay(claim, request, context);
  }
  return start(claim.batchId, request, context);
}

async function getBatch(batchId: string, context: ApiContext): Promise<APIGatewayProxyResult> {
  if (!BATCH_ID_PATTERN.test(batchId)) {
    throw new RequestError(
      `Expected \`batchId\` to match ${BATCH_ID_PATTERN}, got ${JSON.stringify(batchId.slice(0, 140))}`,
      {
        field: 'batchId',
      },
    );
  }
  const status = await readStatus(batchId, context.config, context.deps);
  if (!status) throw new RequestError(`No batch ${batchId}`, { status: 404, code: 'NOT_FOUND' });
  return json(200, status);
}

function methodNotAllowed(allowed: string, method: string): APIGatewayProxyResult {
  return errorResponse(
    new RequestError(`Method ${method} is not allowed here; use ${allowed}`, {
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
    }),
    { allow: allowed },
  );
}

/**
 * Answers an API Gateway REST proxy event: `POST /batches`, `GET /batches/{batchId}`.
 * Every failure is a JSON `{error: {code, message, field?}}`; nothing throws out of here.
 */
export async function handleApiEvent(event: APIGatewayProxyEvent, context: ApiContext): Promise<APIGatewayProxyResult> {
  const path = (event.path ?? '/').replace(/\/+$/, '') || '/';
  const method = event.httpMethod.toUpperCase();
  try {
    if (path === '/batches')
      return method === 'POST' ? await postBatch(event, context) : methodNotAllowed('POST', method);
    const match = /^\/batches\/([^/]+)$/.exec(path);
    if (match?.[1] !== undefined) {
      const batchId = event.pathParameters?.batchId ?? decodeSegment(match[1]);
      return method === 'GET' ? await getBatch(batchId, context) : methodNotAllowed('GET', method);
    }
    throw new RequestError(`No route for ${method} ${path}`, { status: 404, code: 'NOT_FOUND' });
  } catch (error) {
    if (!(error instanceof RequestError)) context.log.error('Request failed', { method, path, error });
    return errorResponse(error);
  }
}
