// The aggregate step: the chunks' records joined into one manifest and result.
import pMap from 'p-map';
import type { BatchResult, ItemOutcome } from '../../contracts/result.js';
import { PhotoLedger, type StoredPhoto } from '../../pipeline/photo-ledger.js';
import { runItems } from '../../pipeline/run-items.js';
import { storedPhotos, summarize, writeManifest } from '../batch.js';
import { BatchRecords } from '../batch-records.js';
import { planPhotos } from '../photos.js';
import type { Chunk } from '../plan.js';
import { finishRetry } from '../retry.js';
import { basisOf, NotPlannedError, runningPlan, type WorkList } from './run-basis.js';
import type { BatchPlan, ChunkRecord, Options } from './steps.js';

/** A chunk with no record: every item of it failed, with the reason saying why none is vouched for. */
function unrecorded(chunk: Chunk, work: Pick<WorkList, 'at'>): ItemOutcome[] {
  return Array.from({ length: chunk.end - chunk.start }, (_, offset) => ({
    index: work.at(chunk.start + offset),
    ok: false as const,
    reason: 'chunk_failed' as const,
    message: `Chunk ${chunk.chunk} (items ${chunk.start}-${chunk.end - 1}) did not finish`,
    attempts: 0,
    latencyMs: 0,
  }));
}

/**
 * Every item of the plan in index order, from the chunk records (in plan order, undefined where a
 * chunk left none: its items fail as `chunk_failed`), and when the last recorded chunk finished.
 */
export function joinChunks(
  plan: Pick<BatchPlan, 'chunks' | 'startedAt'>,
  records: readonly (ChunkRecord | undefined)[],
  work: Pick<WorkList, 'at'> = { at: (position) => position },
): { items: ItemOutcome[]; missingChunks: number[]; finishedAt: number } {
  const items: ItemOutcome[] = [];
  const missingChunks: number[] = [];
  let finishedAt = Date.parse(plan.startedAt);
  for (const [position, chunk] of plan.chunks.entries()) {
    const record = records[position];
    if (record) {
      for (const item of record.items) items.push(item);
      finishedAt = Math.max(finishedAt, Date.parse(record.summary.finishedAt));
    } else {
      for (const item of unrecorded(chunk, work)) items.push(item);
      missingChunks.push(chunk.chunk);
    }
  }
  return { items, missingChunks, finishedAt };
}

/**
 * Joins the chunk records into the batch's manifest and result, the same shape as a batch run in
 * one piece. Elapsed time runs from the plan to the last chunk's last write.
 */
export async function aggregateBatch(
  plan: BatchPlan,
  options: Options & { deadlineAt?: number },
): Promise<{ result: BatchResult; missingChunks: number[]; again?: true }> {
  const { config } = options;
  const records = new BatchRecords(options);
  const status = await records.status(plan.batchId);
  // A step delivered again after the aggregate finished: the batch's result stands as recorded.
  if (status?.status === 'done' && status.result.startedAt === plan.startedAt) {
    return { result: status.result, missingChunks: [], again: true };
  }
  if (!runningPlan(status, plan.startedAt)) throw new NotPlannedError(plan.batchId, plan.startedAt, status);
  const chunkRecords = await pMap(plan.chunks, (chunk) => records.chunk(plan.batchId, chunk.chunk, chunk.retry), {
    concurrency: 16,
  });
  const { work, earlier, retried } = await basisOf(plan.batchId, plan.retry?.run, plan.request.count, options);
  const joined = joinChunks(plan, chunkRecords, work);
  const { missingChunks } = joined;
  let { items, finishedAt } = joined;
  const deferred = chunkRecords.flatMap((record) => record?.deferred ?? []);
  if (deferred.length > 0) {
    // Their photos are in the bucket now (or failed): copy them, one download at most per photo.
    const late = await runDeferred(plan, deferred, [...earlier, ...storedPhotos(items)], options);
    items = [...items, ...late.items].sort((a, b) => a.index - b.index);
    finishedAt = Math.max(finishedAt, late.finishedAt.getTime());
  }
  const startedAt = new Date(plan.startedAt);
  const catalog =
    chunkRecords.find((record) => record?.summary.catalog && 'unavailable' in record.summary.catalog)?.summary
      .catalog ?? chunkRecords.find((record) => record?.summary.catalog)?.summary.catalog;
  const run = {
    items,
    startedAt,
    finishedAt: new Date(finishedAt),
    elapsedMs: finishedAt - startedAt.getTime(),
    cancelled: items.some((item) => !item.ok && item.reason === 'cancelled'),
    ...(catalog ? { catalog } : {}),
  };
  const concurrency = plan.concurrency * plan.parallelChunks;
  let result: BatchResult;
  // Stryker disable next-line LogicalOperator: equivalent — basisOf reads a manifest to retry exactly when the plan is a retry's
  if (plan.retry && retried) {
    result = await finishRetry(
      retried,
      run,
      { run: plan.retry.run, concurrency, ...(catalog ? { catalog } : {}) },
      options,
    );
  } else {
    result = summarize(items, { ...run, batchId: plan.batchId, request: plan.request, concurrency, config });
    await writeManifest(result, plan.request, items, options);
  }
  // The status record answers GET without reading a manifest that may hold 100,000 items.
  await records.putStatus({ batchId: plan.batchId, status: result.status ?? 'done', result }).catch(() => {});
  return { result, missingChunks };
}

/** The items the chunks left to the aggregate step, run now: copies of photos other chunks stored. */
async function runDeferred(
  plan: BatchPlan,
  deferred: number[],
  stored: [string, StoredPhoto][],
  options: Options & { deadlineAt?: number },
) {
  const photos = await planPhotos(plan.request, plan.batchId, options);
  return runItems(plan.request, deferred, {
    config: options.config,
    deps: options.deps,
    batchId: plan.batchId,
    concurrency: plan.concurrency,
    deadlineAt: options.deadlineAt ?? Date.now() + AGGREGATE_BUDGET_MS,
    batchStartedAt: Date.parse(plan.startedAt),
    photos: photos.pick,
    ledger: new PhotoLedger(stored),
  });
}

/** Time the aggregate step gives the items left to it, when its caller sets no deadline. */
const AGGREGATE_BUDGET_MS = 10 * 60_000;
