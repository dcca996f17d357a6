import { PhotoLedger } from '../../pipeline/photo-ledger.js';
import { type RunOptions, runItems, tally } from '../../pipeline/run-items.js';
import type { PhotoChoice } from '../../source/photo-picks.js';
import { BatchRecords } from '../batch-records.js';
import { throttled } from '../lifecycle.js';
import { planPhotos } from '../photos.js';
import { basisOf, NotPlannedError, runningPlan } from './run-basis.js';
import type { ChunkProgress, ChunkRecord, ChunkSummary, ChunkTask, Options } from './steps.js';

/**
 * Runs one chunk and records it, unless it is recorded already: Step Functions may deliver a chunk
 * twice (a retried invocation), and a second run must not fetch a second set of images.
 */
export async function runChunk(
  task: ChunkTask,
  options: Options & Pick<RunOptions, 'deadlineAt' | 'onProgress' | 'cancel'>,
): Promise<ChunkSummary> {
  const { config, deps } = options;
  const { batchId, chunk } = task;
  const records = new BatchRecords(options);
  const recorded = await records.chunk(batchId, chunk.chunk, chunk.retry);
  // A chunk of a run planned again (its process died, a retry finishes it) is reused only when it
  // covers the same items: CHUNK_SIZE may have changed in between.
  if (recorded && recorded.summary.start === chunk.start && recorded.summary.end === chunk.end) return recorded.summary;
  const status = await records.status(batchId);
  if (!runningPlan(status, task.startedAt)) throw new NotPlannedError(batchId, task.startedAt, status);

  const writeProgress = throttled((progress: ChunkProgress) => records.putProgress(batchId, chunk.retry, progress));
  const { work, earlier } = await basisOf(batchId, chunk.retry, task.request.count, options);
  const indexes = work.slice(chunk.start, chunk.end);
  const photos = await planPhotos(task.request, batchId, options);
  const run = await runItems(task.request, indexes, {
    config,
    deps,
    batchId,
    photos: photos.pick,
    ledger: new PhotoLedger(earlier),
    ...(photos.pick ? { defer: fetchedElsewhere(photos.pick, work.all(), indexes, earlier) } : {}),
    concurrency: task.concurrency,
    deadlineAt: options.deadlineAt,
    ...(task.startedAt ? { batchStartedAt: Date.parse(task.startedAt) } : {}),
    ...(options.cancel ? { cancel: options.cancel } : {}),
    onProgress: (progress) => {
      options.onProgress?.(progress);
      writeProgress.offer({ chunk: chunk.chunk, ...progress });
    },
  });
  const { succeeded, failed, bytes } = tally(run.items);
  const summary: ChunkSummary = {
    ...chunk,
    done: run.items.length,
    succeeded,
    failed,
    bytes,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    catalog: photos.catalog,
  };
  await writeProgress.flush();
  // The record is the chunk's outcome: without it the aggregate counts every item of it as failed.
  const record: ChunkRecord = { summary, items: run.items, ...(run.deferred.length ? { deferred: run.deferred } : {}) };
  await records.putChunk(batchId, record);
  await records.putProgress(batchId, chunk.retry, {
    chunk: chunk.chunk,
    done: summary.done,
    succeeded,
    failed: summary.failed,
    finished: true,
  });
  return summary;
}

/**
 * Items of `here` whose photo's first item in the run is in another chunk (and not stored before):
 * chunks run side by side, so such an item cannot wait for it, and is left to the aggregate step.
 */
function fetchedElsewhere(
  pick: (index: number) => PhotoChoice | undefined,
  all: readonly number[],
  here: readonly number[],
  storedEarlier: readonly (readonly [string, unknown])[],
): (index: number) => boolean {
  // Stryker disable next-line OptionalChaining,StringLiteral: equivalent — a batch that reads the catalog picks a photo for every index; the fallback (an item its own photo) is for the type
  const photoOf = (index: number): string => pick(index)?.id ?? `#${index}`;
  const stored = new Set(storedEarlier.map(([photo]) => photo));
  const first = new Map<string, number>();
  for (const index of all) if (!first.has(photoOf(index))) first.set(photoOf(index), index);
  const inChunk = new Set(here);
  // Every index here is among `all`, so its photo has a first item.
  return (index) => !stored.has(photoOf(index)) && !inChunk.has(first.get(photoOf(index)) as number);
}
