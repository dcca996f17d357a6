import { randomBytes } from 'node:crypto';
import type { Config } from '../contracts/config.js';
import { messageOf } from '../contracts/errors.js';
import type { BatchRequest } from '../contracts/request.js';
import type { BatchResult, ItemOutcome, Manifest, RunTime } from '../contracts/result.js';
import type { BatchJob } from '../contracts/steps.js';
import type { Deps } from '../pipeline/item-context.js';
import { PhotoLedger, type StoredPhoto } from '../pipeline/photo-ledger.js';
import { type ItemsRun, indexRange, type RunOptions, runItems, tally } from '../pipeline/run-items.js';
import { percentiles } from '../pipeline/stats.js';
import { batchPrefix, manifestKey, nameInBatch, photoOfKey } from '../storage/keys.js';
import { BatchRecords } from './batch-records.js';
import { planPhotos } from './photos.js';

export type { BatchJob } from '../contracts/steps.js';

/** How many items a job runs: the whole request, or the unfinished items its retry runs again. */
export const jobSize = (job: BatchJob): number => job.retry?.items ?? job.request.count;

export type BatchOptions = Omit<RunOptions, 'batchId' | 'concurrency'> & { batchId?: string };

/** A new batch id: sortable by time, unique enough to never collide (`20261125T094207Z-3f9a1c2b`). */
export function newBatchId(now = new Date()): string {
  const stamp = `${now.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/** The result of a batch from every item's outcome (in index order) and its timing. */
export function summarize(
  items: readonly ItemOutcome[],
  run: Omit<ItemsRun, 'items' | 'deferred'> & {
    batchId: string;
    request: BatchRequest;
    concurrency: number;
    config: Config;
    retries?: number;
    catalog?: BatchResult['catalog'];
    /** The runs before and including this one (a retry); absent: this is the batch's first and only run. */
    runs?: RunTime[];
  },
): BatchResult {
  const { batchId, config } = run;
  const { succeeded, failed, bytes, failures, failureCounts } = tally(items);
  return {
    batchId,
    status: run.cancelled ? 'cancelled' : 'done',
    requested: run.request.count,
    succeeded,
    failed,
    elapsedMs: run.elapsedMs,
    bytes,
    concurrency: run.concurrency,
    source: config.source,
    bucket: config.bucket,
    prefix: batchPrefix(config, batchId),
    manifestKey: manifestKey(config, batchId),
    failures,
    failureCounts,
    // Stored items only: a cancelled item's zero, or a failure's time to give up, is no latency.
    latencyMs: percentiles(items.flatMap((item) => (item.ok ? [item.latencyMs] : []))),
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    retries: run.retries ?? 0,
    runs: run.runs ?? [
      {
        run: 0,
        startedAt: run.startedAt.toISOString(),
        elapsedMs: run.elapsedMs,
        items: items.length,
        concurrency: run.concurrency,
      },
    ],
    ...(run.catalog ? { catalog: run.catalog } : {}),
  };
}

/**
 * Where the photos an earlier run (or another chunk) stored are: the first stored item of each
 * photo, for a ledger to copy from.
 */
export function storedPhotos(items: Iterable<ItemOutcome>): [string, StoredPhoto][] {
  const seen = new Map<string, StoredPhoto>();
  for (const item of items) {
    // Stryker disable next-line ConditionalExpression: equivalent — a failed item has no key, and photoOfKey names no photo for none
    if (!item.ok) continue;
    const photo = photoOfKey(item.key);
    if (photo !== undefined && !seen.has(photo)) {
      seen.set(photo, { index: item.index, key: item.key, bytes: item.bytes, sha256: item.sha256 });
    }
  }
  return [...seen];
}

/**
 * Writes `manifest.json`, then `report.html` beside it (the same batch as a page, its images by
 * their relative keys); when the manifest fails the result says so in `manifestError` (the images
 * stay, and no page is written), when the report fails in `reportError`.
 */
export async function writeManifest(
  result: BatchResult,
  request: BatchRequest,
  items: ItemOutcome[],
  options: { config: Config; deps: Deps },
): Promise<BatchResult> {
  const manifest: Manifest = { version: 1, batchId: result.batchId, request, result, items };
  // The page is drawn while the manifest is on its way: drawn after it, its rendering (and the
  // renderer's loading, left out of every cold start: a status read never draws a page) was in
  // every batch's elapsed time, between its last two writes.
  const page = import('../report/batch-report.js').then(({ renderReport }) =>
    renderReport(manifest, { imageHref: nameInBatch, manifestHref: 'manifest.json' }),
  );
  // Unused when the manifest fails; otherwise its failure is reported below.
  page.catch(() => {});
  const records = new BatchRecords(options);
  try {
    await records.putManifest(manifest);
  } catch (error) {
    result.manifestError = messageOf(error);
    return result;
  }
  try {
    await records.putReport(result.batchId, await page);
  } catch (error) {
    result.reportError = messageOf(error);
  }
  return result;
}

/**
 * Fetches and stores `request.count` images with `request.concurrency` in flight, then writes the
 * manifest. One item's failure never fails the batch; at the deadline unfinished items end as
 * `timeout`, on cancellation as `cancelled`, and the result comes back at once.
 */
export async function runBatch(request: BatchRequest, options: BatchOptions): Promise<BatchResult> {
  const batchId = options.batchId ?? newBatchId();
  const photos = await planPhotos(request, batchId, options);
  const run = await runItems(request, indexRange(0, request.count), {
    ...options,
    batchId,
    photos: photos.pick,
    ledger: new PhotoLedger(),
  });
  const result = summarize(run.items, {
    ...run,
    batchId,
    request,
    concurrency: request.concurrency,
    config: options.config,
    catalog: photos.catalog,
  });
  return writeManifest(result, request, run.items, options);
}
