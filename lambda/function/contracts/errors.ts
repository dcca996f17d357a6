/**
 * Errors with stable codes. Callers branch on `code`; users see `code` and `message`, never a stack.
 */

/** Bad input from a caller: becomes a 4xx response naming the field. */
export class RequestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(message: string, options: { code?: string; status?: number; field?: string } = {}) {
    super(message);
    this.name = 'RequestError';
    this.code = options.code ?? 'INVALID_REQUEST';
    this.status = options.status ?? 400;
    this.field = options.field;
  }
}

/** The environment is unusable; thrown once at cold start. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
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
 * - `interrupted`: the invocation running the item died before recording its outcome.
 * - `internal`: a bug in this function (an unexpected error); not retried, logged with its stack.
 */
export type FailureReason =
  | 'timeout'
  | 'source_timeout'
  | 'source_status'
  | 'source_network'
  | 'redirect_refused'
  | 'not_image'
  | 'too_large'
  | 'store_failed'
  | 'chunk_failed'
  | 'cancelled'
  | 'interrupted'
  | 'internal';

/** The message of anything thrown, without its stack. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
