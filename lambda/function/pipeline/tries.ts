// One item's tries: what counts as an attempt, which failures are retried, how long it waits, how it ends.
import { backoffMs, sleep } from '../contracts/backoff.js';
import { type FailureReason, messageOf } from '../contracts/errors.js';
import { type ItemOutcome, type ItemTimeline, MAX_MESSAGE_LENGTH, type PhotoCredit } from '../contracts/result.js';
import { SourceError } from '../source/source-error.js';
import { StoreError } from '../storage/store-error.js';
import { followAbort } from './follow-abort.js';
import { type ItemContext, RunStopped } from './item-context.js';

export type Failure = { reason: FailureReason; message: string; retryable: boolean; retryAfterMs?: number | undefined };

export function classify(error: unknown): Failure {
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
export class Tries {
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
export function attemptSignal(
  stop: AbortSignal,
  ms: number,
): { signal: AbortSignal; timedOut(): boolean; done(): void } {
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
