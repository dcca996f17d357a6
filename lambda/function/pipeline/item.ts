import type { Dispatcher } from 'undici';
import { backoffMs, isPermanentS3Error, sleep } from '../contracts/backoff.js';
import type { Config } from '../contracts/config.js';
import { type FailureReason, messageOf, SourceError } from '../contracts/errors.js';
import type { BatchRequest } from '../contracts/request.js';
import { discard, imageUrl, openImage } from '../source/picsum.js';
import {
  type DownloadedImage,
  downloadImage,
  putImage,
  type S3Sender,
  shouldStream,
  streamImage,
} from '../storage/objects.js';
import type { BufferPool } from './buffer-pool.js';
import type { Semaphore } from './semaphore.js';

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
  /** Bounds bodies held (read or being written), so they wait in sockets instead of memory. */
  uploads: Semaphore;
  /** Body buffers, reused across the batch's items. */
  buffers: BufferPool;
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
  return {
    reason: 'store_failed',
    message: `S3 write failed: ${messageOf(error)}`,
    retryable: !isPermanentS3Error(error),
  };
}

/** One item's tries, shared by its download and upload stages. */
class Tries {
  attempts = 0;
  private readonly started = performance.now();

  constructor(
    private readonly index: number,
    private readonly context: ItemContext,
  ) {}

  private elapsed() {
    return Math.round(performance.now() - this.started);
  }

  fail(reason: FailureReason, message: string): ItemOutcome {
    return { index: this.index, ok: false, reason, message, attempts: this.attempts, latencyMs: this.elapsed() };
  }

  timedOut(): ItemOutcome {
    return this.fail('timeout', 'The batch deadline came before this item finished');
  }

  stored(stored: { key: string; bytes: number; sha256: string }): ItemOutcome {
    return { index: this.index, ok: true, ...stored, attempts: this.attempts, latencyMs: this.elapsed() };
  }

  /**
   * Runs `attempt` until it succeeds, retrying transient failures with backoff and Retry-After,
   * never past the deadline. Returns its value, or the outcome that ends the item. The upload
   * stage `continues` the try its download began: only its retries count as further attempts.
   */
  async run<T>(attempt: () => Promise<T>, continues = false): Promise<{ value: T } | { outcome: ItemOutcome }> {
    const { config, signal, deadlineAt } = this.context;
    for (let first = true; ; first = false) {
      if (signal.aborted) return { outcome: this.timedOut() };
      if (!(continues && first)) this.attempts++;
      try {
        return { value: await attempt() };
      } catch (error) {
        if (signal.aborted) return { outcome: this.timedOut() };
        const failure = classify(error);
        const { reason, message } = failure;
        if (!failure.retryable) return { outcome: this.fail(reason, message) };
        if (this.attempts >= config.maxAttempts) {
          return { outcome: this.fail(reason, `${message} (after ${this.attempts} attempts)`) };
        }
        let wait = backoffMs(this.attempts, config);
        if (failure.retryAfterMs !== undefined) {
          if (failure.retryAfterMs > config.maxRetryAfterMs) {
            const why = `Retry-After ${failure.retryAfterMs} ms is over the ${config.maxRetryAfterMs} ms cap`;
            return { outcome: this.fail(reason, `${message}; ${why}`) };
          }
          wait = Math.max(wait, failure.retryAfterMs);
        }
        if (Date.now() + wait >= deadlineAt) {
          return { outcome: this.fail(reason, `${message}; no time left before the deadline to retry`) };
        }
        try {
          await sleep(wait, signal);
        } catch {
          return { outcome: this.timedOut() };
        }
      }
    }
  }
}

/**
 * Item `index` in two stages. The download stage (this function) holds one of the batch's
 * `concurrency` slots; small images are read whole and handed to the upload stage, which runs on
 * after this returns, so the next download starts while this one is written. Large images stream
 * from source to S3 within the download stage. Retries cover 429, 5xx, resets, timeouts, cut
 * bodies and S3 errors. Never rejects: `outcome` settles with how the item ended.
 */
export async function transferItem(index: number, context: ItemContext): Promise<{ outcome: Promise<ItemOutcome> }> {
  const { config, request, signal, deps } = context;
  const url = imageUrl(config.picsumBaseUrl, request, index);
  const item = { batchId: context.batchId, index, count: request.count, format: request.format };
  const tries = new Tries(index, context);

  // The upload slot is taken once the headers are in and before the body is read: a body waits in
  // the socket, not in memory, while every upload slot is busy. So at most `concurrency` bodies are
  // held at once, whatever their size.
  const downloaded = await tries.run(async (): Promise<DownloadedImage | ItemOutcome> => {
    const image = await openImage(url, config, deps, signal);
    try {
      await context.uploads.acquire(signal);
    } catch (error) {
      discard(image.body);
      throw error;
    }
    if (shouldStream(image)) {
      try {
        return tries.stored(await streamImage(deps.s3, config, image, item, signal));
      } finally {
        context.uploads.release();
      }
    }
    try {
      return await downloadImage(image, config, context.buffers);
    } catch (error) {
      context.uploads.release();
      throw error;
    }
  });
  if ('outcome' in downloaded) return { outcome: Promise.resolve(downloaded.outcome) };
  const image = downloaded.value;
  if ('index' in image) return { outcome: Promise.resolve(image) };

  // The download holds an upload slot from here on; the upload stage gives it back.
  const upload = async () => {
    try {
      const stored = await tries.run(() => putImage(deps.s3, config, image, item, signal), true);
      return 'outcome' in stored ? stored.outcome : tries.stored(stored.value);
    } finally {
      image.release();
      context.uploads.release();
    }
  };
  return { outcome: upload() };
}
