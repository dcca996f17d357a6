import type { Config } from '../contracts/config.js';
import { AppError } from '../contracts/errors.js';
import type { BatchResult, ItemOutcome, Manifest, RetryRun, RunTime } from '../contracts/result.js';
import type { Deps } from '../pipeline/item-context.js';
import { PhotoLedger } from '../pipeline/photo-ledger.js';
import { type ItemsRun, runItems } from '../pipeline/run-items.js';
import { type BatchJob, type BatchOptions, storedPhotos, summarize, writeManifest } from './batch.js';
import { BatchRecords } from './batch-records.js';
import { planPhotos } from './photos.js';
import type { RetryClaim } from './records.js';

export type { RetryClaim } from './records.js';

type Options = { config: Config; deps: Deps };

/** Retry run `run`'s claim: the items it runs again. */
export async function readClaim(batchId: string, run: number, options: Options): Promise<RetryClaim> {
  const claim = await new BatchRecords(options).retryClaim(batchId, run);
  if (!claim) throw new AppError('NOT_PLANNED', `Retry ${run} of batch ${batchId} has no claim to run from`);
  return claim;
}

/** Retry run `run`'s claim, with the manifest it retries. */
export async function readRetry(batchId: string, run: number, options: Options) {
  const [claim, manifest] = await Promise.all([
    readClaim(batchId, run, options),
    new BatchRecords(options).manifest(batchId),
  ]);
  if (!manifest) throw new AppError('NOT_PLANNED', `Retry ${run} of batch ${batchId} has no manifest to run from`);
  return { claim, manifest };
}

/**
 * The batch's items with a retry run's outcomes in place of the unfinished ones they ran again:
 * attempts add up, and each earlier run's last failure joins the item's retries.
 */
export function mergeRetried(
  previous: readonly ItemOutcome[],
  retried: readonly ItemOutcome[],
  retry: { run: number; startedAt: number; previousFinishedAt: number },
): ItemOutcome[] {
  const items = previous.slice();
  for (const now of retried) {
    const before = items[now.index];
    if (before?.index !== now.index || before.ok) {
      throw new AppError(
        'NOT_PLANNED',
        `Retry ${retry.run} ran item ${now.index}, which the manifest does not hold unfinished`,
      );
    }
    const waitMs = Math.max(0, retry.startedAt + (now.startMs ?? 0) - retry.previousFinishedAt);
    const retries = [
      ...(before.retries ?? []),
      ...(before.attempts > 0 ? [{ reason: before.reason, waitMs }] : []),
      ...(now.retries ?? []),
    ];
    const { retries: _own, ...rest } = now;
    items[now.index] = {
      ...rest,
      run: retry.run,
      attempts: before.attempts + now.attempts,
      ...(retries.length > 0 ? { retries } : {}),
    };
  }
  return items;
}

/** Runs a claimed retry in this invocation: the unfinished items again, then the manifest merged. */
export async function runRetry(job: BatchJob & { retry: RetryRun }, options: BatchOptions): Promise<BatchResult> {
  const { claim, manifest } = await readRetry(job.batchId, job.retry.run, options);
  const photos = await planPhotos(manifest.request, job.batchId, options);
  const run = await runItems(manifest.request, claim.indexes, {
    ...options,
    batchId: job.batchId,
    photos: photos.pick,
    // A photo the batch already stored is copied, not fetched again.
    ledger: new PhotoLedger(storedPhotos(manifest.items)),
  });
  const { concurrency } = manifest.request;
  return finishRetry(manifest, run, { run: job.retry.run, concurrency, catalog: photos.catalog }, options);
}

/** The first run of a batch whose manifest predates `runs`: all it can say of it. */
const firstRun = (manifest: Manifest): RunTime => ({
  run: 0,
  startedAt: manifest.result.startedAt,
  elapsedMs: manifest.result.elapsedMs,
  items: manifest.items.length,
  concurrency: manifest.result.concurrency,
});

/**
 * Writes the manifest after retry run `retryRun`: every item once, with its final outcome, and the
 * result of the batch as a whole (elapsed time summed over its runs). S3 replaces an object whole,
 * so a reader sees the previous manifest or this one, never a mix.
 */
export async function finishRetry(
  manifest: Manifest,
  run: Omit<ItemsRun, 'deferred'>,
  retry: { run: number; concurrency: number; catalog?: BatchResult['catalog'] },
  options: Options,
): Promise<BatchResult> {
  const items = mergeRetried(manifest.items, run.items, {
    run: retry.run,
    startedAt: run.startedAt.getTime(),
    previousFinishedAt: Date.parse(manifest.result.finishedAt),
  });
  const result = summarize(items, {
    batchId: manifest.batchId,
    request: manifest.request,
    concurrency: retry.concurrency,
    config: options.config,
    startedAt: new Date(manifest.result.startedAt),
    finishedAt: run.finishedAt,
    elapsedMs: manifest.result.elapsedMs + run.elapsedMs,
    cancelled: run.cancelled,
    retries: retry.run,
    runs: [
      ...(manifest.result.runs ?? [firstRun(manifest)]),
      {
        run: retry.run,
        startedAt: run.startedAt.toISOString(),
        elapsedMs: run.elapsedMs,
        items: run.items.length,
        concurrency: retry.concurrency,
      },
    ],
    ...(retry.catalog ? { catalog: retry.catalog } : {}),
  });
  return writeManifest(result, manifest.request, items, options);
}
