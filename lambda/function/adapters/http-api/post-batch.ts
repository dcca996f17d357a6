// POST /batches: a new batch, or the one an Idempotency-Key already names (replayed).
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { RequestError } from '../../contracts/errors.js';
import { type BatchRequest, parseRequest } from '../../contracts/request.js';
import { newBatchId } from '../../orchestration/batch.js';
import { claimIdempotencyKey, readIdempotencyKey } from '../../orchestration/idempotency.js';
import { CLAIM_GRACE_MS, relaunchable } from '../../orchestration/lifecycle.js';
import { checkRequestPhotos } from '../../orchestration/photos.js';
import type { ApiContext } from './api-context.js';
import { acceptedAnswer, batchError, failedAnswer, start } from './batch-answers.js';
import { header, readJsonBody } from './http-request.js';
import { json } from './responses.js';

const SAME_KEY = 'repeat the request with the same Idempotency-Key to start it';

/**
 * The answer to a request repeated with its Idempotency-Key: the batch's result when a synchronous
 * batch is done, where to watch it while it runs, and a second start when the first never
 * happened (its launch failed, or nothing was recorded long after the key was claimed). Of repeats
 * racing to start it, the one that claims the relaunch starts it; the others answer what it recorded.
 */
export async function replay(
  claim: { batchId: string; claimedAt: string },
  request: BatchRequest,
  context: ApiContext,
  mayRelaunch = true,
): Promise<APIGatewayProxyResult> {
  const { batchId } = claim;
  const { batches } = context;
  const status = await batches.status(batchId);
  const headers = { 'idempotent-replayed': 'true' };
  const neverStarted = relaunchable(status) || (!status && Date.now() - Date.parse(claim.claimedAt) > CLAIM_GRACE_MS);
  if (neverStarted && mayRelaunch) {
    const job = { batchId, request };
    if (!(await batches.claimRelaunch(job))) return replay(claim, request, context, false);
    context.log.info('Repeated request for a batch that never started; starting it', { batchId });
    return start(job, context, SAME_KEY);
  }
  if (!status) {
    throw new RequestError('This Idempotency-Key is being settled; retry the request', {
      code: 'IDEMPOTENCY_KEY_IN_USE',
      field: 'Idempotency-Key',
    });
  }
  if (relaunchable(status)) {
    const message = `Batch ${batchId} could not be started again; repeat the request with the same Idempotency-Key`;
    return batchError('LAUNCH_FAILED', message, batchId, headers);
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
