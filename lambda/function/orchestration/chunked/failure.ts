import { BatchRecords } from '../batch-records.js';
import { type BatchStatus, failedRecord } from '../lifecycle.js';
import type { FailedEvent, Options } from './steps.js';

/**
 * Records a batch the state machine gave up on, so GET says so instead of "running" forever.
 * `again`: the batch had already ended (done, cancelled or failed), so it is not announced twice.
 */
export async function recordFailure(
  event: FailedEvent,
  options: Options,
): Promise<{ status: BatchStatus; again?: true }> {
  // A batch that finished stays finished: a late failure of a step delivered again does not undo it.
  const records = new BatchRecords(options);
  const recorded = await records.status(event.batchId);
  if (recorded?.status === 'done' || recorded?.status === 'cancelled') return { status: recorded, again: true };
  // Nor does a failure naming a batch whose manifest stands, unless a retry of it was running: that
  // retry failed, and its record says so (the manifest still answers GET).
  const manifest = await records.manifest(event.batchId);
  const retrying = recorded?.status === 'running' && (recorded.retry?.run ?? 0) > (manifest?.result.retries ?? 0);
  if (manifest && !retrying) {
    return {
      status: { batchId: event.batchId, status: manifest.result.status ?? 'done', result: manifest.result },
      again: true,
    };
  }
  const status = failedRecord(event, event.failure.Error ?? 'Unknown', event.failure.Cause ?? '');
  await records.putStatus(status);
  return recorded?.status === 'failed' ? { status, again: true } : { status };
}
