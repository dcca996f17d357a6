import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Config } from '../../contracts/config.js';
import { RequestError } from '../../contracts/errors.js';
import { type BatchRequest, parseRequest } from '../../contracts/request.js';
import { type BatchResult, newBatchId, runBatch } from '../../orchestration/batch.js';
import { claimIdempotencyKey, readIdempotencyKey } from '../../orchestration/idempotency.js';
import { acceptJob, type Launcher, readStatus } from '../../orchestration/jobs.js';
import type { Deps } from '../../pipeline/item.js';
import { errorResponse, json } from './responses.js';

/** Largest request body accepted (API Gateway itself allows 10 MB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** API Gateway cuts integrations at 29 s: a synchronous batch must be answered well before. */
export const SYNC_BUDGET_MS = 25_000;

export const BATCH_ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

export type ApiContext = {
  config: Config;
  deps: Deps;
  /** Milliseconds until the runtime stops us (the Lambda context's remaining time). */
  remainingMs: number;
  launch: Launcher;
  log: ApiLog;
  /** Called with every batch answered synchronously (metrics). */
  onResult?: (result: BatchResult) => void;
};

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
  if (text.trim() === '' && contentType === undefined) return {};
  if (contentType !== 'application/json') {
    throw new RequestError(`Expected Content-Type application/json, got ${JSON.stringify(contentType ?? '')}`, {
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new RequestError('Request body is not valid JSON', { code: 'INVALID_JSON' });
  }
}

/**
 * The answer to a request repeated with its Idempotency-Key: the batch's result when a synchronous
 * batch is done, else where to watch it. Nothing new starts.
 */
async function replay(batchId: string, request: BatchRequest, context: ApiContext): Promise<APIGatewayProxyResult> {
  const status = await readStatus(batchId, context.config, context.deps);
  const headers = { 'idempotent-replayed': 'true' };
  if (status?.status === 'done' && request.count <= context.config.syncMaxCount) {
    return json(200, status.result, headers);
  }
  // A synchronous batch records nothing until its manifest: no record means it is still running.
  const state = status?.status ?? 'running';
  return json(202, { batchId, status: state, statusUrl: `/batches/${batchId}` }, headers);
}

async function postBatch(event: APIGatewayProxyEvent, context: ApiContext): Promise<APIGatewayProxyResult> {
  const { config, deps } = context;
  const request = parseRequest(readJsonBody(event), config);
  const key = readIdempotencyKey(header(event, 'idempotency-key'));
  const claim =
    key === undefined
      ? { batchId: newBatchId(), fresh: true }
      : await claimIdempotencyKey(key, request, newBatchId(), context);
  if (!claim.fresh) {
    context.log.info('Repeated request; answering its batch', { batchId: claim.batchId });
    return replay(claim.batchId, request, context);
  }
  const batchId = claim.batchId;
  if (request.count > config.syncMaxCount) {
    await acceptJob({ batchId, request }, config, deps, context.launch);
    context.log.info('Batch accepted', { batchId, requested: request.count });
    return json(202, { batchId, status: 'accepted', statusUrl: `/batches/${batchId}` });
  }
  // Keep 2 s after the deadline to write the manifest and answer.
  const budget = Math.min(SYNC_BUDGET_MS, context.remainingMs - 2_000);
  const result = await runBatch(request, { config, deps, batchId, deadlineAt: Date.now() + Math.max(0, budget) });
  const { succeeded, failed, elapsedMs } = result;
  context.log.info('Batch finished', { batchId, succeeded, failed, elapsedMs });
  context.onResult?.(result);
  return json(200, result);
}

async function getBatch(batchId: string, context: ApiContext): Promise<APIGatewayProxyResult> {
  if (!BATCH_ID_PATTERN.test(batchId)) {
    throw new RequestError(`Expected \`batchId\` to match ${BATCH_ID_PATTERN}, got ${JSON.stringify(batchId)}`, {
      field: 'batchId',
    });
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
