// POST /batches: a new batch, or the one an Idempotency-Key already names (replayed).
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { RequestError } from '../../contracts/errors.js';
import { type BatchRequest, parseRequest } from '../../contracts/request.js';
import { newBatchId } from '../../orchestration/batch.js';
import { claimIdempotencyKey, readIdempotencyKey } from '../../orchestration/idempotency.js';
import { checkRequestPhotos } from '../../orchestration/photos.js';
import { type ApiContext, IN_REQUEST_MS } from './api-context.js';
import { acceptedAnswer, failedAnswer, start } from './batch-answers.js';
import { header, readJsonBody } from './http-request.js';
import { json } from './responses.js';

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
  const status = await batches.status(batchId);
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
    return json(200, status.result, headers);
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
