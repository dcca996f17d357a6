import pMap from 'p-map';
import type * as z from 'zod/mini';
import type { batchPage, readableBatch, unreadableBatch } from '../contracts/answers.js';
import { RecordError } from '../contracts/errors.js';
import { BATCH_ID_PATTERN } from '../contracts/request.js';
import type { BatchStatus } from '../contracts/result.js';
import type { BatchRecords } from './batch-records.js';

/** One batch in a listing: what it is doing or did, in counts, and when; or a batch whose record cannot be read. */
export type BatchSummary = ReadableBatch | UnreadableBatch;
export type UnreadableBatch = z.output<typeof unreadableBatch>;
export type ReadableBatch = z.output<typeof readableBatch>;
export type BatchPage = z.output<typeof batchPage>;

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Status records read at once for a page: each may be a manifest of a few hundred KB. */
const READ_CONCURRENCY = 8;

/**
 * The time a batch id carries: new batches begin with it (`20261125T094207Z-3f9a1c2b`), scheduled
 * ones end with it (`nightly-20261125T020000Z`). Anything else under the prefix (the
 * `idempotency/` folder) carries none and is not a batch.
 */
export function createdAt(batchId: string): string | undefined {
  const stamp = /(?:^|-)(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:-|$)/.exec(batchId);
  if (!stamp) return undefined;
  const [, year, month, day, hour, minute, second] = stamp;
  const time = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** Newest first; batches of the same second by id, last first, so that the order is total. */
const newestFirst = (a: { batchId: string; createdAt: string }, b: { batchId: string; createdAt: string }) =>
  b.createdAt.localeCompare(a.createdAt) || b.batchId.localeCompare(a.batchId);

function summaryOf(status: BatchStatus, created: string): ReadableBatch {
  const base = { batchId: status.batchId, status: status.status, createdAt: created };
  switch (status.status) {
    case 'done':
    case 'cancelled': {
      const { result } = status;
      return {
        ...base,
        requested: result.requested,
        succeeded: result.succeeded,
        failed: result.failed,
        finishedAt: result.finishedAt,
        retries: result.retries ?? 0,
      };
    }
    case 'running':
      return { ...base, requested: status.requested, succeeded: status.succeeded, failed: status.failed };
    case 'accepted':
    case 'unfinished':
      return { ...base, requested: status.requested, succeeded: 0, failed: 0 };
    case 'failed':
      return {
        ...base,
        requested: status.requested,
        succeeded: 0,
        failed: 0,
        finishedAt: status.failedAt,
        error: status.error,
      };
  }
}

/** One listed batch, as its records tell; one whose record is not ours, as unreadable. */
async function listed(
  service: Parameters<typeof listBatches>[0],
  folder: { batchId: string; createdAt: string },
): Promise<BatchSummary | undefined> {
  let status: BatchStatus | undefined;
  try {
    status = await service.status(folder.batchId);
  } catch (error) {
    if (!(error instanceof RecordError)) throw error;
    return { batchId: folder.batchId, status: 'unreadable', createdAt: folder.createdAt, error: error.message };
  }
  if (!status) return undefined;
  const summary = summaryOf(status, folder.createdAt);
  if (status.status !== 'failed' && status.status !== 'unfinished') return summary;
  const unrecorded = await service.records.imageCount(folder.batchId);
  return unrecorded > 0 ? { ...summary, unrecorded } : summary;
}

/**
 * The batches in the bucket, newest first, `limit` at a time after the batch `cursor` names (the
 * `next` of the page before). Every batch folder is listed on each call (one ListObjectsV2 per
 * 1,000 batches: S3 lists in ascending key order only), and the page's own records are read.
 * A folder without a record (a batch being written for the first time) is left out.
 */
export async function listBatches(
  service: {
    records: Pick<BatchRecords, 'folders' | 'imageCount'>;
    status(batchId: string): Promise<BatchStatus | undefined>;
  },
  page: { limit?: number; cursor?: string } = {},
): Promise<BatchPage> {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  const folders = (await service.records.folders()).flatMap((batchId) => {
    const created = BATCH_ID_PATTERN.test(batchId) ? createdAt(batchId) : undefined;
    return created === undefined ? [] : [{ batchId, createdAt: created }];
  });
  folders.sort(newestFirst);
  const after =
    page.cursor === undefined ? undefined : { batchId: page.cursor, createdAt: createdAt(page.cursor) ?? '' };
  const from = after === undefined ? 0 : folders.findIndex((folder) => newestFirst(after, folder) < 0);
  const slice = from < 0 ? [] : folders.slice(from, from + limit);
  const summaries = await pMap(slice, (folder) => listed(service, folder), { concurrency: READ_CONCURRENCY });
  const batches = summaries.flatMap((summary) => (summary ? [summary] : []));
  const last = slice.at(-1);
  const more = from >= 0 && from + limit < folders.length;
  return more && last ? { batches, next: last.batchId } : { batches };
}
