import { type BatchStatus, putStatus } from '../status.js';
import { statusRecord } from './run-basis.js';
import type { FailedEvent, Options } from './steps.js';

/** Records a batch the state machine gave up on, so GET says so instead of "running" forever. */
export async function recordFailure(event: FailedEvent, options: Options): Promise<BatchStatus> {
  // A batch that finished stays finished: a late failure of a step delivered again does not undo it.
  const recorded = await statusRecord(event.batchId, options);
  if (recorded?.status === 'done' || recorded?.status === 'cancelled') return recorded;
  const status: BatchStatus = {
    batchId: event.batchId,
    status: 'failed',
    requested: event.requested,
    error: event.failure.Error ?? 'Unknown',
    cause: (event.failure.Cause ?? '').slice(0, 1000),
    failedAt: new Date().toISOString(),
  };
  await putStatus(status, options.config, options.deps);
  return status;
}
