// A running chunked batch's counts, for GET.
import { BatchRecords } from '../batch-records.js';
import type { BatchStatus } from '../lifecycle.js';
import type { Options } from './steps.js';

/** A running chunked batch's counts so far, summed over its chunks' progress records. */
export async function chunkedProgress(
  status: Extract<BatchStatus, { status: 'running' }>,
  options: Options,
): Promise<BatchStatus> {
  const records = await new BatchRecords(options).progress(status.batchId, status.retry?.run);
  const counts = { done: 0, succeeded: 0, failed: 0 };
  let chunksDone = 0;
  for (const record of records) {
    if (!record) continue;
    counts.done += record.done;
    counts.succeeded += record.succeeded;
    counts.failed += record.failed;
    if (record.finished) chunksDone++;
  }
  return { ...status, ...counts, chunks: { total: status.chunks?.total ?? 0, done: chunksDone } };
}
