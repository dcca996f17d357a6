// A running chunked batch's counts, for GET.
import pMap from 'p-map';
import { progressPrefix } from '../../storage/keys.js';
import { getJson, listKeys } from '../../storage/objects.js';
import type { BatchStatus } from '../status.js';
import type { ChunkProgress, Options } from './steps.js';

/** A running chunked batch's counts so far, summed over its chunks' progress records. */
export async function chunkedProgress(
  status: Extract<BatchStatus, { status: 'running' }>,
  options: Options,
): Promise<BatchStatus> {
  const { config, deps } = options;
  const keys = await listKeys(deps.s3, config, progressPrefix(config, status.batchId, status.retry?.run));
  const records = await pMap(keys, (key) => getJson<ChunkProgress>(deps.s3, config, key), { concurrency: 16 });
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
