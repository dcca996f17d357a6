import { backoffMs, sleep } from '../contracts/backoff.js';
import type { Config } from '../contracts/config.js';
import { type FailureReason, messageOf } from '../contracts/errors.js';
import type { BatchRequest } from '../contracts/request.js';
import { type ItemOutcome, type ItemTimeline, MAX_MESSAGE_LENGTH, type PhotoCredit } from '../contracts/result.js';
import type { PhotoChoice } from '../source/photo-picks.js';
import { CONTENT_TYPES, discard, imageUrl, openImage, type SourcePool } from '../source/picsum.js';
import { SourceError } from '../source/source-error.js';
import { copyImage, putImage } from '../storage/images.js';
import type { S3Sender } from '../storage/s3-client.js';
import { StoreError } from '../storage/store-error.js';
import type { BufferPool } from './buffer-pool.js';
import { followAbort } from './follow-abort.js';
import type { MissingPhoto, PhotoLedger, StoredPhoto } from './photo-ledger.js';
import { type DownloadedImage, readWhole, shouldStream, streamThrough } from './transfer.js';
import type { UploadSlots } from './upload-slots.js';

/** Where errors nobody expected are reported, with their stack (Powertools' Logger, or the console). */
export type ErrorLog = { error(message: string, ...extra: unknown[]): void };

/** Clients shared by every item, created once per process. */
export type Deps = { s3: S3Sender; source: SourcePool; log?: ErrorLog };

/** Why a run stopped early: its deadline came, or it was cancelled (Ctrl-C, SIGTERM). */
export class RunStopped extends Error {
  constructor(readonly reason: 'timeout' | 'cancelled') {
    super(reason === 'timeout' ? 'batch deadline' : 'batch cancelled');
    this.name = 'RunStopped';
  }
}

export type ItemContext = {
  config: Config;
  request: BatchRequest;
  batchId: string;
  deps: Deps;
  /** Bounds bodies held (read or being written), so they wait in sockets instead of memory. */
  uploads: UploadSlots;
  /** Body buffers, reused across the batch's items. */
  buffers: BufferPool;
  /** Aborts (with a RunStopped) at the deadline or on cancellation: no new request, no more waiting. */
  stop: AbortSignal;
  /** Aborts at the deadline only: an upload whose body is whole is not abandoned for a cancellation. */
  deadline: AbortSignal;
  /** Epoch ms of the deadline: no retry is scheduled past it. */
  deadlineAt: number;
  /** Epoch ms the batch started (its first chunk, for a chunked batch): items' timelines count from it. */
  batchStartedAt: number;
  /** The photo each item is, chosen from picsum's catalog (unset: picsum's own routes choose). */
  photos?: ((index: number) => PhotoChoice | undefined) | undefined;
  /** One download per photo: later items of a photo copy the first one's object. */
  ledger?: PhotoLedger | undefined;
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
  if (error instanceof StoreError)
    return { reason: 'store_failed', message: error.message, retryable: error.retryable };
  return { reason: 'internal', message: `Unexpected error: ${messageOf(error)}`, retryable: false };
}

/** One item's tries, shared by its download and upload stages, and its timeline. */
class Tries {
  attempts = 0;
  private readonly started = performance.now();
  private readonly timeline: ItemTimeline = {};

  constructor(
    private readonly index: number,
    private readonly context: ItemContext,
  ) {}

  private elapsed() {
    return Math.round(performance.now() - this.started);
  }

  private sinceBatchStart() {
    return Date.now() - this.context.batchStartedAt;
  }

  /** Its body is whole: the download stage is over. */
  downloaded(): void {
    this.timeline.downloadedMs = this.sinceBatchStart();
  }

  fail(reason: FailureReason, message: string): ItemOutcome {
    const kept = message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 3)}...` : message;
    return {
      index: this.index,
      ok: false,
      reason,
      message: kept,
      attempts: this.attempts,
      latencyMs: this.elapsed(),
      ...this.timeline,
    };
  }

  /** The outcome of an item its run stopped: `timeout` at the deadline, `cancelled` when told to stop. */
  stopped(): ItemOutcome {
    const { reason } = this.context.stop;
    return reason instanceof RunStopped && reason.reason === 'cancelled'
      ? this.fail('cancelled', 'The run was cancelled before this item was stored')
      : this.fail('timeout', 'The batch deadline came before this item finished');
  }

  stored(stored: { key: string; bytes: number; sha256: string; copyOf?: number } & PhotoCredit): ItemOutcome {
    const storedMs = this.sinceBatchStart();
    return {
      index: this.index,
      ok: true,
      ...stored,
      attempts: this.attempts,
      latencyMs: this.elapsed(),
      ...this.timeline,
      downloadedMs: this.timeline.downloadedMs ?? storedMs,
      storedMs,
    };
  }

  /**
   * Runs `attempt` until it succeeds, retrying transient failures with backoff and Retry-After,
   * never past the deadline. Returns its value, or the outcome that ends the item. The upload
   * stage `continues` the try its download began: only its retries count as further attempts.
   * An error nobody expected (a bug) ends the item as `internal` at once, logged with its stack.
   */
  async run<T>(
    attempt: () => Promise<T>,
    options: { continues?: boolean; signal?: AbortSignal } = {},
  ): Promise<{ value: T } | { outcome: ItemOutcome }> {
    const { config, deadlineAt } = this.context;
    const signal = options.signal ?? this.context.stop;
    for (let first = true; ; first = false) {
      if (signal.aborted) return { outcome: this.stopped() };
      if (!(options.continues && first)) this.attempts++;
      this.timeline.startMs ??= this.sinceBatchStart();
      try {
        return { value: await attempt() };
      } catch (error) {
        if (signal.aborted) return { outcome: this.stopped() };
        const failure = classify(error);
        const { reason, message } = failure;
        if (reason === 'internal') {
          this.context.deps.log?.error('Item failed on an unexpected error', { index: this.index, error });
        }
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
        // Stryker disable next-line EqualityOperator: equal to the millisecond is not a case a test can make
        if (Date.now() + wait >= deadlineAt) {
          return { outcome: this.fail(reason, `${message}; no time left before the deadline to retry`) };
        }
        this.timeline.retries ??= [];
        this.timeline.retries.push({ reason, waitMs: wait });
        try {
          await sleep(wait, this.context.stop);
        } catch {
          return { outcome: this.stopped() };
        }
      }
    }
  }
}

/**
 * One download attempt's signal: aborts when the run stops, or when the attempt has taken `ms` in
 * all (a body trickled a byte at a time never trips the inactivity timeout, and must not hold its
 * slot until the batch deadline). Not `AbortSignal.any([stop, AbortSignal.timeout(ms)])`: Node
 * can collect a timeout signal held only by a composite before it fires (nodejs/node#57736; seen
 * here as an attempt that never timed out), and a composite stays listening on `stop` until
 * collected. `done` clears both.
 */
function attemptSignal(stop: AbortSignal, ms: number) {
  const { controller, unfollow } = followAbort(stop);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, ms);
  return {
    signal: controller.signal,
    timedOut: () => timedOut && !stop.aborted,
    done() {
      clearTimeout(timer);
      unfollow();
    },
  };
}

/**
 * Item `index` in two stages. The download stage (this function) holds one of the batch's
 * `concurrency` slots; small images are read whole and handed to the upload stage, which runs on
 * after this returns, so the next download starts while this one is written. Large images stream
 * from source to S3 within the download stage. Retries cover 429, 5xx, resets, timeouts, cut
 * bodies and S3 errors. An item whose photo an earlier item of the batch fetches (the ledger says)
 * downloads nothing: it hands back at once and copies that item's object once it is stored.
 * Never rejects: `outcome` settles with how the item ended.
 */
export async function transferItem(index: number, context: ItemContext): Promise<{ outcome: Promise<ItemOutcome> }> {
  const photo = context.photos?.(index);
  const claim = photo && context.ledger ? context.ledger.claim(photo.id) : undefined;
  if (claim && !claim.first) return { outcome: copyPhoto(index, photo as PhotoChoice, claim.outcome, context) };
  const fetched = await fetchItem(index, photo, context);
  if (claim?.first) {
    void fetched.outcome.then((outcome) =>
      claim.settle(
        outcome.ok
          ? { index, key: outcome.key, bytes: outcome.bytes, sha256: outcome.sha256 }
          : { index, reason: outcome.reason },
      ),
    );
  }
  return fetched;
}

/** The catalog's credit for a photo, as an item and its object carry it. */
const creditOf = (photo: PhotoChoice | undefined): PhotoCredit => ({
  ...(photo?.author === undefined ? {} : { author: photo.author }),
  ...(photo?.url === undefined ? {} : { page: photo.url }),
});

/**
 * A later item of a photo the batch already fetched: a server-side copy of that item's object once
 * it is stored (in an upload slot, never a download one), or the first item's failure.
 */
async function copyPhoto(
  index: number,
  photo: PhotoChoice,
  first: Promise<StoredPhoto | MissingPhoto>,
  context: ItemContext,
): Promise<ItemOutcome> {
  const { config, request, deps, deadline } = context;
  const tries = new Tries(index, context);
  const from = await first;
  if (!('key' in from)) {
    return tries.fail(
      from.reason,
      `Photo ${photo.id} was not stored: item ${from.index} of it failed (${from.reason})`,
    );
  }
  const credit = creditOf(photo);
  const image = {
    batchId: context.batchId,
    index,
    count: request.count,
    format: request.format,
    picsumId: photo.id,
    contentType: CONTENT_TYPES[request.format],
    sourceUrl: imageUrl(config.picsumBaseUrl, request, index, photo.id).href,
    credit,
  };
  try {
    // Refused, taking no slot, once the run has stopped.
    await context.uploads.acquire();
  } catch {
    return tries.stopped();
  }
  try {
    const copied = await tries.run(
      () => {
        // Nothing to download: the photo's bytes are already in the bucket.
        tries.downloaded();
        return copyImage(deps.s3, config, from.key, image, deadline);
      },
      // Stryker disable next-line ObjectLiteral: equivalent — Tries starts no wait that would end past the deadline, and copyImage is aborted by it itself
      { signal: deadline },
    );
    if ('outcome' in copied) return copied.outcome;
    return tries.stored({ key: copied.value, bytes: from.bytes, sha256: from.sha256, copyOf: from.index, ...credit });
  } finally {
    context.uploads.release();
  }
}

/** Downloads and stores item `index` (of `photo`, when the catalog chose one): see transferItem. */
async function fetchItem(
  index: number,
  photo: PhotoChoice | undefined,
  context: ItemContext,
): Promise<{ outcome: Promise<ItemOutcome> }> {
  const { config, request, stop, deadline, deps } = context;
  const tries = new Tries(index, context);
  // Without the catalog or a seed, picsum's random route would give another run of the batch (a
  // retry) another photo, and so another key beside the first: the batch id seeds it instead. (A
  // photo the catalog chose is asked for by its id, whatever the seed.)
  const seeded = request.seed === undefined ? { ...request, seed: context.batchId } : request;
  const url = imageUrl(config.picsumBaseUrl, seeded, index, photo?.id);
  const credit = creditOf(photo);
  const item = { batchId: context.batchId, index, count: request.count, format: request.format, credit };

  // The upload slot is taken once the headers are in and before the body is read: a body waits in
  // the socket, not in memory, while every upload slot is busy. So at most `concurrency` bodies are
  // held at once, whatever their size. Small images come back read whole; large ones are stored
  // on the way (streamed into S3) and come back as their outcome.
  const download = async (signal: AbortSignal): Promise<DownloadedImage | ItemOutcome> => {
    const image = await openImage(url, config, deps, signal, request.format);
    // Stryker disable BlockStatement,CallExpression: equivalent — the stop that refused the slot also aborted this request, so undici lets the body go either way
    await context.uploads.acquire().catch((error: unknown) => {
      discard(image.body);
      throw error;
    });
    // Stryker restore BlockStatement,CallExpression
    if (shouldStream(image)) {
      try {
        return tries.stored({ ...(await streamThrough(deps.s3, config, image, item, deadline)), ...credit });
      } finally {
        context.uploads.release();
      }
    }
    try {
      const whole = await readWhole(image, item, config, context.buffers);
      tries.downloaded();
      return whole;
    } catch (error) {
      context.uploads.release();
      throw error;
    }
  };

  const downloaded = await tries.run(async () => {
    const attempt = attemptSignal(stop, config.attemptTimeoutMs);
    try {
      return await download(attempt.signal);
    } catch (error) {
      if (attempt.timedOut()) {
        const message = `The download took over SOURCE_ATTEMPT_TIMEOUT_MS (${config.attemptTimeoutMs} ms)`;
        throw new SourceError('source_timeout', message, { retryable: true, cause: error });
      }
      throw error;
    } finally {
      attempt.done();
    }
  });
  if ('outcome' in downloaded) return { outcome: Promise.resolve(downloaded.outcome) };
  const image = downloaded.value;
  if ('ok' in image) return { outcome: Promise.resolve(image) };

  // The download holds an upload slot from here on; the upload stage gives it back. Once the
  // body is whole, only the deadline stops its write: a cancelled run still stores (and records)
  // what it already holds, so nothing stored is missing from the manifest.
  const upload = async () => {
    try {
      const stored = await tries.run(() => putImage(deps.s3, config, image, deadline), {
        continues: true,
        signal: deadline,
      });
      return 'outcome' in stored ? stored.outcome : tries.stored({ ...stored.value, ...credit });
    } finally {
      image.release();
      context.uploads.release();
    }
  };
  return { outcome: upload() };
}
