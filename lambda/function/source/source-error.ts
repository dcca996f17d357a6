import { AppError, type FailureReason } from '../contracts/errors.js';

/** A failure while fetching from the image source: `reason` is the one its item ends with. */
export class SourceError extends AppError {
  readonly reason: FailureReason;
  /** From a Retry-After header, when the source sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    reason: FailureReason,
    message: string,
    options: { retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super('SOURCE_FAILED', message, { cause: options.cause, retryable: options.retryable ?? false });
    this.name = 'SourceError';
    this.reason = reason;
    this.retryAfterMs = options.retryAfterMs;
  }
}
