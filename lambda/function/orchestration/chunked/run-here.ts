import type { BatchResult } from '../../contracts/result.js';
import type { RunOptions } from '../../pipeline/run-items.js';
import { type BatchJob, jobSize } from '../batch.js';
import { aggregateBatch } from './aggregate.js';
import { planBatch } from './plan-batch.js';
import { runChunk } from './run-chunk.js';
import type { Options } from './steps.js';

/**
 * The whole chunked path in this process, chunk after chunk: plan, every chunk, aggregate. What
 * `npm start` and the dev server run for a batch over CHUNK_SIZE, so the same code is exercised
 * without AWS.
 */
export async function runChunkedHere(
  job: BatchJob,
  options: Options & Pick<RunOptions, 'deadlineAt' | 'onProgress' | 'cancel'>,
): Promise<BatchResult> {
  const plan = await planBatch(job, 1, options);
  const before = { done: 0, succeeded: 0, failed: 0, cancelled: 0 };
  let cancelledHere = 0;
  for (const chunk of plan.chunks) {
    const summary = await runChunk(
      { batchId: plan.batchId, request: plan.request, concurrency: plan.concurrency, chunk, startedAt: plan.startedAt },
      {
        ...options,
        onProgress: (progress) => {
          // A chunk's summary has no cancelled count: its last progress holds it.
          cancelledHere = progress.cancelled ?? 0;
          options.onProgress?.({
            done: before.done + progress.done,
            succeeded: before.succeeded + progress.succeeded,
            failed: before.failed + progress.failed,
            ...(before.cancelled + cancelledHere > 0 ? { cancelled: before.cancelled + cancelledHere } : {}),
            total: jobSize(job),
          });
        },
      },
    );
    before.done += summary.done;
    before.succeeded += summary.succeeded;
    before.failed += summary.failed;
    before.cancelled += cancelledHere;
    cancelledHere = 0;
  }
  return (await aggregateBatch(plan, options)).result;
}
