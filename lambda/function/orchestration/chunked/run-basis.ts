import { AppError } from '../../contracts/errors.js';
import type { StoredPhoto } from '../../pipeline/photo-ledger.js';
import { indexRange } from '../../pipeline/run-items.js';
import { storedPhotos } from '../batch.js';
import type { BatchStatus } from '../lifecycle.js';
import { readRetry } from '../retry.js';
import type { Options } from './steps.js';

/** A chunk or aggregate step for a run the batch is not running: a stale or forged step. Nothing is written. */
export class NotPlannedError extends AppError {
  constructor(batchId: string, plannedAt: string | undefined, status: BatchStatus | undefined) {
    const found = status
      ? `${status.status}${status.status === 'running' ? ` (planned at ${status.plannedAt})` : ''}`
      : 'no record';
    super(
      'NOT_PLANNED',
      `Batch ${batchId} is not running a chunked run planned at ${plannedAt}: its record says ${found}`,
    );
    this.name = 'NotPlannedError';
  }
}

/** Whether a status record is of the chunked run planned at `plannedAt`, still running. */
export const runningPlan = (status: BatchStatus | undefined, plannedAt: string | undefined): boolean =>
  status?.status === 'running' && plannedAt !== undefined && status.plannedAt === plannedAt;

export type WorkList = { slice(start: number, end: number): number[]; at(position: number): number; all(): number[] };

/**
 * What a run of the batch works from, read once: its items by position (for the batch's first run
 * every index, positions are indexes; for a retry run the unfinished items its claim lists), and
 * for a retry the manifest it retries, with the photos it already stored.
 */
export async function basisOf(batchId: string, retry: number | undefined, count: number, options: Options) {
  if (retry === undefined) {
    const work: WorkList = { slice: indexRange, at: (position) => position, all: () => indexRange(0, count) };
    return { work, earlier: [] as [string, StoredPhoto][], retried: undefined };
  }
  const { claim, manifest } = await readRetry(batchId, retry, options);
  const { indexes } = claim;
  const work: WorkList = {
    slice: (start, end) => indexes.slice(start, end),
    // Stryker disable next-line LogicalOperator,UnaryOperator: a fallback the type needs; a chunk's positions are within its claim
    at: (position) => indexes[position] ?? -1,
    all: () => indexes,
  };
  return { work, earlier: storedPhotos(manifest.items), retried: manifest };
}
