/**
 * Every error this project throws on purpose is an AppError with a stable `code`, each documented
 * once below, and says whether trying again can help (`retryable`). Callers branch on `code`;
 * users see `code` and `message`, never a stack. Which HTTP status a code is answered with is the
 * API adapter's choice (adapters/http-api/responses.ts): nothing below it chooses one.
 *
 * Failure reasons (`FailureReason`, lower case: `source_status`) are a contract beside these codes
 * and never mix with them: they say what became of an item, in results, manifests and status
 * records. A SourceError carries the reason its item ends with; a StoreError, S3's own code
 * (`SlowDown`) as `s3Code`.
 */
export const ERROR_CODES = {
  INVALID_REQUEST: 'the request as a whole is not valid (not a JSON object)',
  INVALID_FIELD: 'a request field is of the wrong type, out of range or unknown to the catalog; `field` names it',
  UNKNOWN_FIELD: 'a request names a field the API does not have; `field` names it',
  INVALID_BODY: 'the body is not a JSON object, or a retry body has fields',
  INVALID_JSON: 'the body does not parse as JSON',
  INVALID_HEADER: 'a header is malformed (Idempotency-Key)',
  INVALID_FLAG: 'a command-line flag is unknown, malformed, or cannot go with another',
  BODY_TOO_LARGE: 'the body is over 1 MB',
  UNSUPPORTED_MEDIA_TYPE: 'the body is not sent as application/json',
  NOT_FOUND: 'no such route, or no such batch',
  METHOD_NOT_ALLOWED: 'the route does not take this method',
  IDEMPOTENCY_KEY_IN_USE: 'another request is settling this Idempotency-Key; repeat the request',
  IDEMPOTENCY_KEY_REUSED: 'the Idempotency-Key was used with a different request',
  BATCH_RUNNING: 'the batch, or a retry of it, is still accepted or running',
  BATCH_FAILED: 'the batch an Idempotency-Key names failed; a new key runs the request again',
  NOTHING_TO_RETRY: 'the batch ended without a manifest, so no item of it is recorded to retry',
  OTHER_SOURCE: 'the batch was fetched from another source than this one; a batch keeps to one',
  LAUNCH_FAILED: 'a background batch could not be started; nothing is recorded, and repeating the request starts it',
  TOO_MANY_RETRIES: 'the batch has retry runs that never finished, as many as it may have; no more are started',
  EXECUTION_EXISTS: 'an execution of that name ran already (Step Functions keeps names 90 days)',
  STORE_FAILED: 'S3 refused a call or could not be reached (after its retries)',
  SOURCE_FAILED: 'the image source failed; the item it was for ends with the reason it carries',
  RUN_STOPPED: 'a run stopped early: its deadline came, or it was cancelled',
  EVENT_REFUSED: "EventBridge refused a batch's event (logged and counted; the batch is not failed)",
  UNAUTHENTICATED: 'API Gateway: the request is not signed (SigV4), or its signature or token is invalid or expired',
  FORBIDDEN: 'the caller may not call this API (API Gateway: no execute-api:Invoke; the dev server: another origin)',
  THROTTLED: "API Gateway: over the stage's rate or burst limit; `Retry-After` says when to try again",
  INTEGRATION_FAILED: 'API Gateway: the function could not be invoked, or failed',
  INTEGRATION_TIMEOUT: 'API Gateway: the function did not answer within 29 s',
  REFUSED: 'API Gateway: any other refusal, with its own status',
  GATEWAY_ERROR: 'API Gateway: any other failure of its own',
  QUEUE_FULL: "the dev server's background batches are all taken; try again later",
  CONFIG_INVALID: 'an environment variable is unusable; `message` names it',
  UNRECOGNIZED_EVENT: 'an invocation event of no kind the function answers; nothing starts',
  INVALID_EVENT: 'an event of a known kind whose contents do not check out; nothing starts',
  NOT_PLANNED:
    'a step or job for a run its batch is not running (the batch ended, the retry was never claimed, another plan); nothing is written',
  RECORD_INVALID:
    "a batch's record in the bucket is not JSON, or does not check out (another batch's id, a key outside its folder); `field` names what",
  INTERNAL: 'anything else: a bug, logged with its stack',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The base of every error thrown on purpose: a stable code, whether trying again can help, and
 * `field`, what it is about where one thing is.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options?: ErrorOptions & { field?: string | undefined; retryable?: boolean },
  ) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.field = options?.field;
    this.retryable = options?.retryable ?? false;
  }
}

/** Bad input from a caller (a body, a header, a path, a flag): names the field when there is one. */
export class RequestError extends AppError {
  constructor(message: string, options: { code?: ErrorCode; field?: string } = {}) {
    super(options.code ?? 'INVALID_REQUEST', message, { field: options.field });
    this.name = 'RequestError';
  }
}

/**
 * A record read from the bucket that is not what this project writes: not JSON, or naming another
 * batch or a key outside its batch's folder. Whoever can write to a bucket must not choose, through
 * a record, what a reader does (where it writes files, which batch it changes).
 */
export class RecordError extends AppError {
  constructor(message: string, options: { field?: string } = {}) {
    super('RECORD_INVALID', message, { field: options.field });
    this.name = 'RecordError';
  }
}

/** The environment is unusable; thrown once at cold start. */
export class ConfigError extends AppError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
    this.name = 'ConfigError';
  }
}

/**
 * Why one item failed. These strings appear in results and manifests: they are a contract.
 * - `timeout`: the batch deadline came before the item finished.
 * - `source_timeout`: the source did not connect, answer or send the body in time.
 * - `source_status`: the source answered with a non-2xx status (after retries, when retryable).
 * - `source_network`: connection refused or reset, or the body was cut short (after retries).
 * - `redirect_refused`: a redirect left the allowed hosts, downgraded https or hopped too often.
 * - `not_image`: the source answered with a Content-Type that is not an image.
 * - `too_large`: the body is larger than MAX_IMAGE_BYTES.
 * - `store_failed`: S3 refused or could not be reached (after retries).
 * - `chunk_failed`: the invocation running this item's chunk failed before recording any outcome
 *   (a batch split over Step Functions; its images may be stored, but none is vouched for).
 * - `cancelled`: the run was told to stop (Ctrl-C, SIGTERM) before this item was stored.
 * - `internal`: a bug in this function (an unexpected error); not retried, logged with its stack.
 */
export const FAILURE_REASONS = [
  'timeout',
  'source_timeout',
  'source_status',
  'source_network',
  'redirect_refused',
  'not_image',
  'too_large',
  'store_failed',
  'chunk_failed',
  'cancelled',
  'internal',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** The message of anything thrown, without its stack. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
