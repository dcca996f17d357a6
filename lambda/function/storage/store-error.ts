import { AppError } from '../contracts/errors.js';

/**
 * A failure at the storage boundary: S3 answered with an error, or could not be reached. Anything
 * else thrown from an S3 call is not a storage failure but a bug, and is left as it is.
 */
export class StoreError extends AppError {
  /** S3's error code (`SlowDown`, `AccessDenied`, ...) or the transport's (`ECONNREFUSED`, `TimeoutError`). */
  readonly s3Code: string;
  /** S3's HTTP status, when it answered. */
  readonly s3Status: number | undefined;

  /** Retryable when trying again can help: throttling, 5xx, timeouts and broken connections can. */
  constructor(message: string, options: { s3Code: string; s3Status?: number | undefined; cause: unknown }) {
    super('STORE_FAILED', message, { cause: options.cause, retryable: isRetryable(options.s3Code, options.s3Status) });
    this.name = 'StoreError';
    this.s3Code = options.s3Code;
    this.s3Status = options.s3Status;
  }
}

/** Refusals that a retry cannot heal, whatever their status. */
const PERMANENT_CODES = new Set([
  'NoSuchKey',
  'NoSuchBucket',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
  // A full disk (the embedded S3's, or MinIO's `XMinioStorageFull`): only a person freeing space heals it.
  'StorageFull',
  'XMinioStorageFull',
]);

/** A known refusal, or any 4xx but 408 and 429, is permanent; everything else may heal. */
function isRetryable(code: string, status: number | undefined): boolean {
  if (PERMANENT_CODES.has(code)) return false;
  if (status === undefined) return true;
  return status >= 500 || status === 408 || status === 429;
}

type SdkError = { name?: unknown; code?: unknown; message?: unknown; $fault?: unknown; $metadata?: unknown };

/**
 * An error answered by S3 and parsed by the SDK: it carries `$fault` and `$metadata`; or one the
 * SDK's S3 middleware raises from a 200 answer, with an HTTP status in `$metadata` and no `$fault`
 * (`InternalError` "S3 aborted request": a CopyObject answered 200 with an empty body, which S3
 * sends when it abandons a copy; 503, to be tried again).
 */
const isServiceError = (error: SdkError): boolean =>
  typeof error.$metadata === 'object' &&
  error.$metadata !== null &&
  (error.$fault === 'client' ||
    error.$fault === 'server' ||
    (error.name === 'InternalError' &&
      typeof (error.$metadata as { httpStatusCode?: unknown }).httpStatusCode === 'number'));

/** Socket and HTTP-layer failures, as node, undici and smithy's handlers name them. */
const isTransportError = (error: SdkError): boolean =>
  /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(String(error.code)) ||
  error.name === 'TimeoutError' ||
  error.name === 'RequestTimeout' ||
  error.name === 'CredentialsProviderError';

export const isAbortError = (error: unknown): boolean => (error as { name?: unknown } | null)?.name === 'AbortError';

/**
 * Wraps a failed S3 call's error: S3's refusals and transport failures become a StoreError with a
 * stable code; aborts and anything unexpected (a TypeError, a bug) come back as they were.
 */
export function toStoreError(error: unknown, what: string): unknown {
  if (error instanceof StoreError || isAbortError(error)) return error;
  // Object(): a thrown string or null has none of the fields below, and comes back as it was.
  const sdk = Object(error) as SdkError;
  const message = typeof sdk.message === 'string' ? sdk.message : String(error);
  if (isServiceError(sdk)) {
    const status = (sdk.$metadata as { httpStatusCode?: number }).httpStatusCode;
    const code = typeof sdk.name === 'string' ? sdk.name : 'Unknown';
    return new StoreError(`${what} failed: ${code}${status ? ` (HTTP ${status})` : ''}: ${message}`, {
      s3Code: code,
      s3Status: status,
      cause: error,
    });
  }
  if (isTransportError(sdk)) {
    const code = typeof sdk.code === 'string' ? sdk.code : String(sdk.name);
    return new StoreError(`${what} failed: S3 could not be reached: ${message} (${code})`, {
      s3Code: code,
      cause: error,
    });
  }
  return error;
}

/** Runs one S3 call, turning its failure into a StoreError where it is one. */
export async function storeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toStoreError(error, what);
  }
}
