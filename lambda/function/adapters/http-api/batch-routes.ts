// GET /batches, GET /batches/{batchId}, POST /batches/{batchId}/retry.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { RequestError } from '../../contracts/errors.js';
import { BATCH_ID_PATTERN, parseBatchId } from '../../contracts/request.js';
import { createdAt, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../orchestration/batch-list.js';
import type { ApiContext } from './api-context.js';
import { batchError, noSuchBatch, start } from './batch-answers.js';
import { readJsonBody } from './http-request.js';
import { errorResponse, json } from './responses.js';

export async function getBatch(batchId: string, context: ApiContext): Promise<APIGatewayProxyResult> {
  parseBatchId(batchId);
  const status = await context.batches.status(batchId);
  if (!status) throw noSuchBatch(batchId);
  return json(200, status);
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
      return json(200, retry.result);
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
