import type { Config } from './config.js';

type RetryConfig = Pick<Config, 'retryBaseMs' | 'retryMaxMs' | 'maxAttempts'>;

/**
 * Delay before try `attempt + 1` (attempt counts from 1): capped exponential backoff with equal
 * jitter (half fixed, half random), so items that failed together do not come back together.
 */
export function backoffMs(attempt: number, config: RetryConfig, random: () => number = Math.random): number {
  const ceiling = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const PERMANENT_S3_ERRORS = new Set([
  'NoSuchKey',
  'NoSuchBucket',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
]);

/** An S3 error that a retry cannot heal: a known refusal, or any 4xx but 408 and 429. */
export function isPermanentS3Error(error: unknown): boolean {
  const { name = '', $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = $metadata?.httpStatusCode;
  const clientError = status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 408;
  return clientError || PERMANENT_S3_ERRORS.has(name);
}

/** Runs a small S3 call up to MAX_ATTEMPTS times; errors that cannot heal are thrown at once. */
export async function withRetries<T>(config: RetryConfig, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= config.maxAttempts || isPermanentS3Error(error)) throw error;
      await sleep(backoffMs(attempt, config));
    }
  }
}
