import { createHash } from 'node:crypto';
import { RequestError } from '../contracts/errors.js';
import type { BatchRequest } from '../contracts/request.js';
import type { BatchRecords } from './batch-records.js';
import type { IdempotencyRecord } from './records.js';

/** Visible ASCII, as the IETF Idempotency-Key draft and Stripe's keys use; 255 at most. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The request after defaults, hashed: `{}` and `{"count":15}` ask for the same batch. */
export const requestHash = (request: BatchRequest): string => sha256(JSON.stringify(request));

/** The `Idempotency-Key` header's value, or undefined without one; a malformed key is a 400 naming it. */
export function readIdempotencyKey(value: string | undefined): string | undefined {
  // Stryker disable next-line ConditionalExpression: equivalent — RegExp#test(undefined) tests "undefined", which passes, and undefined comes back either way
  if (value === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw new RequestError(
      `Expected \`Idempotency-Key\` to be 1 to 255 visible ASCII characters, got ${JSON.stringify(value.slice(0, 60))}`,
      { field: 'Idempotency-Key', code: 'INVALID_HEADER' },
    );
  }
  return value;
}

/**
 * Binds `key` to `batchId` for this request, unless the key is bound already: one conditional
 * write (`If-None-Match: *`), so two requests racing with the same key cannot both win. Answers
 * the batch the key belongs to and whether it is the new one; the same key with a different
 * request is refused (IDEMPOTENCY_KEY_REUSED).
 */
export async function claimIdempotencyKey(
  key: string,
  request: BatchRequest,
  batchId: string,
  records: BatchRecords,
): Promise<{ batchId: string; fresh: boolean; claimedAt: string }> {
  const record: IdempotencyRecord = {
    version: 1,
    batchId,
    requestHash: requestHash(request),
    createdAt: new Date().toISOString(),
  };
  if (await records.claimIdempotency(sha256(key), record)) {
    return { batchId, fresh: true, claimedAt: record.createdAt };
  }
  const bound = await records.idempotency(sha256(key));
  if (!bound) {
    // Taken a moment ago and gone now: only an expiring record does that. Let the client retry.
    throw new RequestError('This Idempotency-Key is being settled; retry the request', {
      code: 'IDEMPOTENCY_KEY_IN_USE',
      field: 'Idempotency-Key',
    });
  }
  if (bound.requestHash !== record.requestHash) {
    throw new RequestError(
      `This Idempotency-Key was used for batch ${bound.batchId} with a different request; use a new key`,
      { code: 'IDEMPOTENCY_KEY_REUSED', field: 'Idempotency-Key' },
    );
  }
  return { batchId: bound.batchId, fresh: false, claimedAt: bound.createdAt };
}
