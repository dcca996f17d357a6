import { AppError } from '../contracts/errors.js';
import type { BatchJob } from './batch.js';
import type { BatchRecords } from './batch-records.js';

/** A run its batch cannot take: the batch has ended, or the retry was never claimed. Nothing is written. */
export class EndedRunError extends AppError {
  constructor(message: string) {
    super('NOT_PLANNED', message);
    this.name = 'EndedRunError';
  }
}

/**
 * Refuses, before anything is written, a run of a batch that has ended: its first run once its
 * manifest is written (only a retry adds to a finished batch), or a retry run with no claim behind
 * it, or one its manifest already holds. So a job or plan delivered late, or forged, changes
 * nothing; a retry a user asked for (the API, the CLI, the schedule's heal) claims its run first.
 */
export async function refuseEndedRun(job: Pick<BatchJob, 'batchId' | 'retry'>, records: BatchRecords): Promise<void> {
  const { batchId, retry } = job;
  const manifest = await records.manifest(batchId);
  if (retry === undefined) {
    if (manifest)
      throw new EndedRunError(`Batch ${batchId} has ended (its manifest is written): only a retry adds to it`);
    return;
  }
  if (!(await records.retryClaim(batchId, retry.run))) {
    throw new EndedRunError(`Retry ${retry.run} of batch ${batchId} was never claimed: nothing to run`);
  }
  if (!manifest || (manifest.result.retries ?? 0) >= retry.run) {
    throw new EndedRunError(`Retry ${retry.run} of batch ${batchId} is not one its manifest is waiting for`);
  }
}
