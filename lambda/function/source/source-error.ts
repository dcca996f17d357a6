import type { FailureReason } from '../contracts/errors.js';

/** A failure while fetching from the image source. */
export class SourceError extends Error {
  readonly reason: FailureReason;
  readonly retryable: boolean;
  /** From a Retry-After header, when the source sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    reason: FailureReason,
    message: string,
    options: { retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'SourceError';
    this.reason = reason;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}
