// The shapes the API answers with are defined once, as schemas in answers.ts; these are their types.
import type * as z from 'zod/mini';
import type { batchDeleted, batchResult, batchStatus, catalogUse, runTime } from './answers.js';
import type { FailureReason } from './errors.js';
import type { BatchRequest } from './request.js';
import type { retryRun } from './steps.js';

/**
 * When an item's steps happened, in ms from the start of the run it last ran in (the batch's first
 * run, or retry run `run`): what a waterfall of the batch is drawn from. Short names, absent when
 * not reached: a 100,000-item manifest stays a few MB.
 */
export type ItemTimeline = {
  /** The retry run this outcome is from (absent: the batch's first run). */
  run?: number;
  /** Its first attempt began (absent for an item that never started: cancelled, past the deadline, its chunk lost). */
  startMs?: number;
  /** Its body was whole (read whole, or streamed through to S3). */
  downloadedMs?: number;
  /** Its write finished (stored items). */
  storedMs?: number;
  /**
   * Each attempt that failed and was tried again: why, and how long the item waited before the next
   * (across runs: from the end of the run that left it unfinished to its start in the retry).
   */
  retries?: { reason: FailureReason; waitMs: number }[];
};

/** Credit for a stored photo, from picsum's catalog: its author, and its page (where it came from). */
export type PhotoCredit = { author?: string; page?: string };

export type RetryRun = z.output<typeof retryRun>;
export type RunTime = z.output<typeof runTime>;
export type CatalogUse = z.output<typeof catalogUse>;

/** How one item ended: the only thing a batch keeps of it. */
export type ItemOutcome = ItemTimeline &
  (
    | ({
        index: number;
        ok: true;
        key: string;
        bytes: number;
        sha256: string;
        attempts: number;
        latencyMs: number;
        /** Stored as a server-side copy of this item's object (the same photo, downloaded once). */
        copyOf?: number;
      } & PhotoCredit)
    | { index: number; ok: false; reason: FailureReason; message: string; attempts: number; latencyMs: number }
  );

export type BatchResult = z.output<typeof batchResult>;

/**
 * Failed items listed in a result: enough to see what went wrong, few enough that a result stays
 * small whatever the batch size (Lambda answers at most 6 MB; API Gateway's client waits for it).
 */
export const MAX_LISTED_FAILURES = 20;

/** The longest message an item keeps: sources choose some of its words. */
export const MAX_MESSAGE_LENGTH = 300;

/** `manifest.json`: the request, the result and every item. */
export type Manifest = {
  version: 1;
  batchId: string;
  request: BatchRequest;
  result: BatchResult;
  items: ItemOutcome[];
};

/** A run's counts as it goes; `cancelled` counts the failed items that ended as `cancelled`. */
export type Progress = { done: number; succeeded: number; failed: number; cancelled?: number; total: number };

/** Why a batch failed as a whole (GET's `error`): the state machine's error name. */
export type BatchFailure = string;

export type BatchStatus = z.output<typeof batchStatus>;

/** What `DELETE /batches/{batchId}` (and `--delete`) answers: the objects it removed. */
export type BatchDeleted = z.output<typeof batchDeleted>;
