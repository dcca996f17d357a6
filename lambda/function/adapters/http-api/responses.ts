import type { APIGatewayProxyResult } from 'aws-lambda';
import { AppError, type ErrorCode } from '../../contracts/errors.js';

/**
 * The HTTP status each error code is answered with: chosen here, and only here. Codes that never
 * reach the API (an invocation event's, a step's) would be a 500.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_REQUEST: 400,
  INVALID_FIELD: 400,
  UNKNOWN_FIELD: 400,
  INVALID_BODY: 400,
  INVALID_JSON: 400,
  INVALID_HEADER: 400,
  INVALID_FLAG: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  IDEMPOTENCY_KEY_IN_USE: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  BATCH_RUNNING: 409,
  BATCH_FAILED: 409,
  NOTHING_TO_RETRY: 409,
  OTHER_SOURCE: 409,
  LAUNCH_FAILED: 503,
  TOO_MANY_RETRIES: 409,
  EXECUTION_EXISTS: 409,
  STORE_FAILED: 503,
  SOURCE_FAILED: 502,
  RUN_STOPPED: 503,
  EVENT_REFUSED: 502,
  UNAUTHENTICATED: 403,
  FORBIDDEN: 403,
  THROTTLED: 429,
  INTEGRATION_FAILED: 502,
  INTEGRATION_TIMEOUT: 504,
  REFUSED: 400,
  GATEWAY_ERROR: 500,
  QUEUE_FULL: 503,
  CONFIG_INVALID: 500,
  UNRECOGNIZED_EVENT: 500,
  INVALID_EVENT: 500,
  NOT_PLANNED: 500,
  RECORD_INVALID: 500,
  INTERNAL: 500,
};

/**
 * Seconds to wait before repeating a request refused with these codes, sent as `Retry-After`:
 * where waiting helps. A key being settled settles in moments; a running batch takes longer.
 */
export const RETRY_AFTER_S: Readonly<Partial<Record<ErrorCode, number>>> = {
  IDEMPOTENCY_KEY_IN_USE: 1,
  BATCH_RUNNING: 10,
  LAUNCH_FAILED: 5,
  QUEUE_FULL: 5,
};

/** The headers of an answer with error `code`: `Retry-After` where waiting helps. */
export const errorHeaders = (code: ErrorCode): Record<string, string> => {
  const seconds = RETRY_AFTER_S[code];
  return seconds === undefined ? {} : { 'retry-after': String(seconds) };
};

/** A JSON response that no cache keeps. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * Codes whose message speaks of this deployment's insides (S3's own words, which can name the
 * bucket, a key or a role): a caller is told this instead, and the log keeps the rest.
 */
const FIXED_MESSAGES: Readonly<Partial<Record<ErrorCode, string>>> = {
  STORE_FAILED: 'The bucket could not be read or written; the function logs say why',
};

/** `{error: {code, message, field?}}` for an error with a code; a generic 500 for anything else, never a stack. */
export function errorResponse(error: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  if (error instanceof AppError) {
    const field = error.field === undefined ? {} : { field: error.field };
    return json(
      HTTP_STATUS[error.code],
      { error: { code: error.code, message: FIXED_MESSAGES[error.code] ?? error.message, ...field } },
      { ...errorHeaders(error.code), ...headers },
    );
  }
  return json(500, { error: { code: 'INTERNAL', message: 'The request failed; see the function logs' } }, headers);
}
