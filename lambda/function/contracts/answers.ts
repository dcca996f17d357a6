// What the API answers, each shape defined once: its TypeScript type (result.ts, batch-list.ts), the
// OpenAPI document (lambda/api-description) and the tests that check every answer come from these.
// The function imports only their types, so none of this is built at a cold start.
import * as z from 'zod/mini';
import { ERROR_CODES, FAILURE_REASONS } from './errors.js';
import { batchId, retryRun } from './steps.js';

const count = (min = 0) => z.int().check(z.minimum(min));
const time = z.iso.datetime();
const about = <T extends z.ZodMiniType>(schema: T, description: string): T => schema.check(z.describe(description));

const reason = z.enum(FAILURE_REASONS);

/**
 * One run of a batch: its first (run 0) or a retry. Each run's item timelines count from its own
 * start, so a page draws each run on its own axis.
 */
export const runTime = z.object({
  run: count(),
  startedAt: time,
  elapsedMs: count(),
  items: count(),
  concurrency: count(1),
});

/** How photos were chosen: from picsum's catalog (its size), or picsum's own routes because it could not be read (why). */
export const catalogUse = z.union([z.object({ photos: count() }), z.object({ unavailable: z.string() })]);

/** The result contract: the API's 200 body, the CLI's `--json` line and GET's `result` once a batch ended. */
export const batchResult = z.object({
  batchId,
  /** `cancelled` when the run was told to stop (Ctrl-C, SIGTERM); its unfinished items say so. */
  status: z.enum(['done', 'cancelled']),
  requested: count(1),
  succeeded: count(),
  failed: count(),
  /** Batch start until the last image write finished; after retries, the sum over its runs. */
  elapsedMs: count(),
  bytes: count(),
  concurrency: count(1),
  /**
   * Where the images came from: `picsum.photos`, `offline` (placeholders from the bundled server of
   * a local run), or the source's URL. A retry run keeps its batch to one source.
   */
  source: about(z.string(), '`picsum.photos`, `offline` (local placeholders), or the source URL'),
  bucket: z.string(),
  prefix: z.string(),
  manifestKey: z.string(),
  /** Set when the manifest could not be written; the images listed as stored are still there. */
  manifestError: z.optional(
    about(z.string(), 'the manifest could not be written; the images listed as stored are there'),
  ),
  /** Set when report.html could not be written (the manifest was). */
  reportError: z.optional(about(z.string(), 'report.html could not be written (the manifest was)')),
  /** The first failed items (MAX_LISTED_FAILURES at most, by index); the manifest lists every item. */
  failures: about(
    z.array(z.object({ index: count(), reason, attempts: count(), message: z.string() })),
    'the first failed items by index (at most 20); the manifest lists every item',
  ),
  /** Failed items by reason, all of them. */
  failureCounts: z.partialRecord(reason, count(1)),
  /** Item latency of the stored items (the failed and cancelled are counted in `failed`, not here). */
  latencyMs: z.object({ p50: count(), p90: count(), p99: count(), max: count() }),
  /** When the first run started, and when the last run (the first, or the latest retry) finished. */
  startedAt: time,
  finishedAt: time,
  /** Retry runs the batch has had (`POST /batches/{batchId}/retry`, `--retry`, a schedule healing itself). */
  retries: count(),
  /** Each run: the first, then every retry, with its own start, time and item count. */
  runs: z.optional(z.array(runTime)),
  catalog: z.optional(catalogUse),
  /** The API's answers only (not the manifest, not `--json`): short-lived URLs that open the batch without credentials. */
  links: z.optional(
    about(
      z.object({
        manifest: about(z.url(), 'a presigned GET URL of manifest.json'),
        report: about(
          z.url(),
          "a presigned GET URL of the batch's page, its first images linked by presigned URLs too",
        ),
        expiresAt: about(time, 'when these URLs (and the image URLs in the page) stop working'),
      }),
      "the API's answers only: presigned URLs that open the batch without credentials, for LINK_EXPIRY_S",
    ),
  ),
});

/**
 * What `GET /batches/{batchId}` answers. `accepted`, `running` and `failed` on the state machine
 * come from its execution, so a batch reads as running only while its execution runs.
 */
export const batchStatus = about(
  z.discriminatedUnion('status', [
    z.object({
      batchId,
      status: z.literal('accepted'),
      requested: count(1),
      /** When its execution started: it has not planned its run yet. */
      acceptedAt: time,
      retry: z.optional(retryRun),
    }),
    z.object({
      batchId,
      status: z.literal('running'),
      requested: count(1),
      done: count(),
      succeeded: count(),
      failed: count(),
      /** The state machine's execution running it (absent: it runs inside a request or a local process). */
      execution: z.optional(about(z.string(), "the state machine's execution running it")),
      /** Batches split into chunks: how many there are and how many have finished. */
      chunks: z.optional(z.object({ total: count(1), done: count() })),
      /** When this run was planned. Only its own chunks and aggregate (carrying this time) act on it. */
      plannedAt: z.optional(time),
      /** A retry run in progress: its number, and how many unfinished items it runs again (the counts above are its own). */
      retry: z.optional(retryRun),
    }),
    /**
     * Started and not finished, with nothing known to run it: its execution is not one the engine
     * knows (a local process that ran it stopped), or it runs inside a request or process other
     * than this one. `--retry` (or POST .../retry) finishes it.
     */
    z.object({
      batchId,
      status: z.literal('unfinished'),
      requested: count(1),
      startedAt: time,
      cause: z.string(),
      retry: z.optional(retryRun),
    }),
    z.object({ batchId, status: z.enum(['done', 'cancelled']), result: batchResult }),
    z.object({
      batchId,
      status: z.literal('failed'),
      requested: count(1),
      /** The state machine's error name: a step that failed for good, `States.Timeout`, `ExecutionAborted`. */
      error: about(z.string(), 'the state machine error that ended it (a step given up on, States.Timeout, an abort)'),
      cause: z.string(),
      failedAt: time,
    }),
  ]),
  "A batch's state: accepted (its execution started), running, unfinished (nothing runs it; a retry finishes it), done or cancelled (with its result), or failed as a whole",
);

/** A 202's body: the batch runs elsewhere; `statusUrl` (and `Location`) say where to watch it. */
export const batchAccepted = z.object({
  batchId,
  status: z.enum(['accepted', 'running']),
  statusUrl: about(z.string(), "where to watch it, from the API's root (as `Location`)"),
});

/** One batch in a listing: what it is doing or did, in counts, and when. */
export const readableBatch = z.object({
  batchId,
  status: z.enum(['accepted', 'running', 'unfinished', 'done', 'cancelled', 'failed']),
  requested: count(),
  /** Items stored and failed so far (a running batch), or in the end. */
  succeeded: count(),
  failed: count(),
  /** When the batch was created (a scheduled batch: its scheduled time), from its id. */
  createdAt: time,
  /** When its latest run finished (done, cancelled), or when it failed. */
  finishedAt: z.optional(time),
  /** Why it failed as a whole (`failed` only). */
  error: z.optional(z.string()),
  /** Retry runs it has had. */
  retries: z.optional(count()),
  /**
   * A failed batch with no manifest: images its folder holds that no record vouches for (a run that
   * died, or could not write its manifest); `succeeded` stays 0, since none of them is accounted for.
   */
  unrecorded: z.optional(
    about(count(1), 'a failed batch with no manifest: images its folder holds that no record vouches for'),
  ),
});

/** A listed batch whose record is not what this project writes (see RecordError): one bad row, not a failed listing. */
export const unreadableBatch = z.object({
  batchId,
  status: z.literal('unreadable'),
  createdAt: time,
  error: about(z.string(), 'why its record cannot be read (RECORD_INVALID)'),
});

/** A page of batches, newest first; `next` is the cursor of the page after it, when there is one. */
export const batchPage = z.object({
  batches: z.array(z.union([readableBatch, unreadableBatch])),
  next: z.optional(about(batchId, 'the `cursor` of the next page, when there is one')),
});

/** What `DELETE /batches/{batchId}` removed: every object of the batch's folder (none, when it was gone already). */
export const batchDeleted = z.object({
  batchId,
  status: z.literal('deleted'),
  deleted: about(
    z.object({ images: count(), documents: count(), bytes: count() }),
    'the objects removed: images, the other objects (manifest, reports, records), and their bytes; 0 when it was gone already',
  ),
});

/** Every refusal and failure: `{error: {code, message, field?}}`, and the batch when it is about one. */
export const errorAnswer = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]),
    message: z.string(),
    field: z.optional(about(z.string(), 'the request field, header or parameter at fault')),
  }),
  batchId: z.optional(about(batchId, 'the batch the error is about, when there is one')),
  statusUrl: z.optional(z.string()),
});

/** The answers by the names the OpenAPI document gives them. */
export const ANSWERS = {
  BatchResult: batchResult,
  BatchStatus: batchStatus,
  BatchAccepted: batchAccepted,
  BatchPage: batchPage,
  BatchDeleted: batchDeleted,
  Error: errorAnswer,
};
