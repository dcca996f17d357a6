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
