import type { Dispatcher } from 'undici';
import type { Config } from './config.js';
import { type FailureReason, messageOf, SourceError } from './errors.js';
import type { BatchRequest } from './request.js';
import { backoffMs, sleep } from './retry.js';
import { imageUrl, openImage } from './source.js';
import { type S3Sender, storeImage } from './store.js';

/** Clients shared by every item, created once per process. */
export type Deps = { s3: S3Sender; dispatcher: Dispatcher };

/** How one item ended: the only thing the batch keeps of it. */
export type ItemOutcome =
  | { index: number; ok: true; key: string; bytes: number; sha256: string; attempts: number; latencyMs: number }
  | { index: number; ok: false; reason: FailureReason; message: string; attempts: number; latencyMs: number };

export type ItemContext = {
  config: Config;
  request: BatchRequest;
  batchId: string;
  deps: Deps;
  /** Aborts at the batch deadline. */
  signal: AbortSignal;
  /** Epoch ms of the deadline: no retry is scheduled past it. */
  deadlineAt: number;
};

type Failure = { reason: FailureReason; message: string; retryable: boolean; retryAfterMs?: number | undefined };

function classify(error: unknown): Failure {
  if (error instanceof SourceError) {
    return {
      reason: error.reason,
      message: error.message,
      retryable: error.retryable,
      retryAfterMs: error.retryAfterMs,
    };
  }
  // Anything else was thrown by the S3 client: a refused write or an unreachable endpoint.
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const permanent = status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 408;
  return { reason: 'store_failed', message: `S3 write failed: ${messageOf(error)}`, retryable: !permanent };
}

/**
 * Downloads item `index` and stores it, retrying transient failures (429, 5xx, resets, timeouts,
 * cut bodies, S3 errors) with backoff and Retry-After, never past the deadline. Never throws.
 */
export async function transferItem(index: number, context: ItemContext): Promise<ItemOutcome> {
  const { config, request, signal } = context;
  const started = performance.now();
  const url = imageUrl(config.picsumBaseUrl, request, index);
  let attempts = 0;
  const fail = (reason: FailureReason, message: string): ItemOutcome => ({
    index,
    ok: false,
    reason,
    message,
    attempts,
    latencyMs: Math.round(performance.now() - started),
  });
  const timedOut = () => fail('timeout', 'The batch deadline came before this item finished');

  for (;;) {
    if (signal.aborted) return timedOut();
    attempts++;
    try {
      const image = await openImage(url, config, context.deps, signal);
      const stored = await storeImage(
        context.deps.s3,
        config,
        image,
        { batchId: context.batchId, index, count: request.count, format: request.format },
        signal,
      );
      return { index, ok: true, ...stored, attempts, latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      if (signal.aborted) return timedOut();
      const failure = classify(error);
      if (!failure.retryable) return fail(failure.reason, failure.message);
      if (attempts >= config.maxAttempts)
        return fail(failure.reason, `${failure.message} (after ${attempts} attempts)`);
      let wait = backoffMs(attempts, config);
      if (failure.retryAfterMs !== undefined) {
        if (failure.retryAfterMs > config.maxRetryAfterMs) {
          return fail(
            failure.reason,
            `${failure.message}; Retry-After ${failure.retryAfterMs} ms is over the ${config.maxRetryAfterMs} ms cap`,
          );
        }
        wait = Math.max(wait, failure.retryAfterMs);
      }
      if (Date.now() + wait >= context.deadlineAt) {
        return fail(failure.reason, `${failure.message}; no time left before the deadline to retry`);
      }
      try {
        await sleep(wait, signal);
      } catch {
        return timedOut();
      }
    }
  }
}
