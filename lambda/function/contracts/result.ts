import type { FailureReason } from './errors.js';
import type { BatchRequest } from './request.js';

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

/** A retry run of a batch: its number (1, 2, ...) and how many unfinished items it runs again. */
export type RetryRun = { run: number; items: number };

/**
 * One run of a batch: its first (run 0) or a retry. Each run's item timelines count from its own
 * start, so a page draws each run on its own axis.
 */
export type RunTime = { run: number; startedAt: string; elapsedMs: number; items: number; concurrency: number };

/** How photos were chosen: from picsum's catalog (its size), or picsum's own routes because it could not be read (why). */
export type CatalogUse = { photos: number } | { unavailable: string };

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

/** The result contract: the API's 200 body, the CLI's `--json` line and the schedule's return value. */
export type BatchResult = {
  batchId: string;
  /** `cancelled` when the run was told to stop (Ctrl-C, SIGTERM); its unfinished items say so. */
  status: 'done' | 'cancelled';
  requested: number;
  succeeded: number;
  failed: number;
  /** Batch start until the last image write finished; after retries, the sum over its runs. */
  elapsedMs: number;
  bytes: number;
  concurrency: number;
  /**
   * Where the images came from: `picsum.photos`, `offline` (placeholders from the bundled server of
   * a local run), or the source's URL. A retry run keeps its batch to one source.
   */
  source: string;
  bucket: string;
  prefix: string;
  manifestKey: string;
  /** Set when the manifest could not be written; the images listed as stored are still there. */
  manifestError?: string;
  /** Set when report.html could not be written (the manifest was). */
  reportError?: string;
  /** The first failed items (MAX_LISTED_FAILURES at most, by index); the manifest lists every item. */
  failures: { index: number; reason: FailureReason; attempts: number; message: string }[];
  /** Failed items by reason, all of them. */
  failureCounts: Partial<Record<FailureReason, number>>;
  /** Item latency of the stored items (the failed and cancelled are counted in `failed`, not here). */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** When the first run started, and when the last run (the first, or the latest retry) finished. */
  startedAt: string;
  finishedAt: string;
  /** Retry runs the batch has had (`POST /batches/{batchId}/retry`, `--retry`, a schedule healing itself). */
  retries: number;
  /** Each run: the first, then every retry, with its own start, time and item count. */
  runs?: RunTime[];
  catalog?: CatalogUse;
};

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

/**
 * Why a batch failed as a whole (GET's `error`): the state machine's error name (a step that failed
 * for good, `States.Timeout`, `ExecutionAborted`).
 */
export type BatchFailure = string;

/**
 * What `GET /batches/{batchId}` answers. `accepted`, `running` and `failed` on the state machine
 * come from its execution, so a batch reads as running only while its execution runs.
 */
export type BatchStatus =
  | {
      batchId: string;
      status: 'accepted';
      requested: number;
      /** When its execution started: it has not planned its run yet. */
      acceptedAt: string;
      retry?: RetryRun;
    }
  | {
      batchId: string;
      status: 'running';
      requested: number;
      done: number;
      succeeded: number;
      failed: number;
      /** The state machine's execution running it (absent: it runs inside a request or a local process). */
      execution?: string;
      /** Batches split into chunks: how many there are and how many have finished. */
      chunks?: { total: number; done: number };
      /** When this run was planned. Only its own chunks and aggregate (carrying this time) act on it. */
      plannedAt?: string;
      /** A retry run in progress: its number, and how many unfinished items it runs again (the counts above are its own). */
      retry?: RetryRun;
    }
  | {
      /**
       * Started and not finished, with nothing known to run it: its execution is not one the engine
       * knows (a local process that ran it stopped), or it runs inside a request or process other
       * than this one. `--retry` (or POST .../retry) finishes it.
       */
      batchId: string;
      status: 'unfinished';
      requested: number;
      startedAt: string;
      cause: string;
      retry?: RetryRun;
    }
  | { batchId: string; status: 'done' | 'cancelled'; result: BatchResult }
  | { batchId: string; status: 'failed'; requested: number; error: BatchFailure; cause: string; failedAt: string };
