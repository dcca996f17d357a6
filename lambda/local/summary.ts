import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BatchResult } from '../function/contracts/result.js';
import type { BatchPage, BatchSummary } from '../function/orchestration/batch-list.js';
import { byteSize } from '../function/report/byte-size.js';
import { sourceName } from '../function/report/source-name.js';
import type { BatchFolder } from './batch-folder.js';

/** The `--source` value that names a batch's source: `picsum` for picsum.photos, else the source itself. */
export const sourceOption = (source: string): string => (source === 'picsum.photos' ? 'picsum' : source);

/**
 * The command that runs a batch's unfinished items again, from the same source: `--source` only
 * where the default (picsum.photos) would not be it, unless `always` (a server of another source).
 */
export function retryCommand(result: Pick<BatchResult, 'batchId' | 'source'>, always = false): string {
  const source =
    result.source === undefined || (result.source === 'picsum.photos' && !always)
      ? ''
      : ` --source ${sourceOption(result.source)}`;
  return `npm start -- --retry ${result.batchId}${source}`;
}

/** Failures that say the same thing, once each with the items they befell, in order of first index. */
function groupedFailures(failures: BatchResult['failures']) {
  const groups = new Map<string, { reason: string; attempts: number; message: string; indexes: number[] }>();
  for (const failure of failures) {
    const key = JSON.stringify([failure.reason, failure.attempts, failure.message]);
    const group = groups.get(key) ?? { ...failure, indexes: [] };
    group.indexes.push(failure.index);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** The human summary printed after a local batch: what was stored, where, how to see it, what is left. */
export function summarize(
  result: BatchResult,
  where: { storageNote: string; folder?: BatchFolder | undefined; retry?: string },
): string {
  const seconds = (result.elapsedMs / 1000).toFixed(2);
  const lines = [
    ...(result.status === 'cancelled' ? ['Cancelled: unfinished items are listed as cancelled in the manifest.'] : []),
    `Stored ${result.succeeded} of ${result.requested} images (${byteSize(result.bytes)}) in ${seconds} s at concurrency ${result.concurrency}, from ${sourceName(result.source)}.`,
    result.succeeded === 0
      ? 'Item latency: no item was stored.'
      : `Item latency ms (stored items): p50 ${result.latencyMs.p50}, p90 ${result.latencyMs.p90}, p99 ${result.latencyMs.p99}, max ${result.latencyMs.max}.`,
  ];
  if (result.failed > 0) {
    lines.push(`Failed: ${result.failed}`);
    const counts = Object.entries(result.failureCounts ?? {}).map(([reason, n]) => `${reason} ${n}`);
    if (counts.length > 0) lines.push(`  by reason: ${counts.join(', ')}`);
    for (const group of groupedFailures(result.failures)) {
      const items = group.indexes.map((index) => `#${index}`).join(', ');
      const times = group.indexes.length > 1 ? ` (${group.indexes.length}×)` : '';
      lines.push(`  ${items}${times}: ${group.reason} after ${group.attempts} attempt(s): ${group.message}`);
    }
    const listed = result.failures.length;
    if (result.failed > listed) lines.push(`  ... and ${result.failed - listed} more in the manifest`);
  }
  lines.push(`Where: ${where.storageNote}, s3://${result.bucket}/${result.prefix}`);
  const { folder } = where;
  if (folder?.error) {
    lines.push(
      `Files: the copy into ${relative(process.cwd(), folder.folder) || '.'}/ stopped (${folder.error}); nothing half-copied was left`,
    );
  } else if (folder) {
    lines.push(
      `Files: ${relative(process.cwd(), folder.folder) || '.'}/ (${folder.images} images under their own names, manifest.json, report.html)`,
    );
    if (folder.missing.length > 0) {
      lines.push(
        `  not copied: ${folder.missing.length} object(s) the bucket does not hold as the manifest records; npm run verify -- ${result.batchId} lists them`,
      );
    }
  }
  if (result.manifestError) {
    lines.push(
      `The manifest could not be written (${result.manifestError}): the ${result.succeeded} image(s) stored under s3://${result.bucket}/${result.prefix} are not recorded, and this batch cannot be retried. Free space if the disk is full, then run the request again as a new batch.`,
    );
    return lines.join('\n');
  }
  lines.push(`Manifest: s3://${result.bucket}/${result.manifestKey}`);
  if (result.reportError) lines.push(`report.html could not be written: ${result.reportError}`);
  else if (folder && !folder.error && !folder.missing.some((key) => key.endsWith('/report.html'))) {
    lines.push(`Report: open ${pathToFileURL(`${folder.folder}/report.html`).href}`);
  } else {
    lines.push(
      `Report: s3://${result.bucket}/${result.prefix}report.html (--out DIR copies the batch into a folder that opens from disk; npm run dev shows it at /batches/${result.batchId}/view)`,
    );
  }
  if (result.failures.some((failure) => /\bStorageFull\b/.test(failure.message ?? ''))) {
    lines.push(`The disk is full: free space on the disk of the ${where.storageNote}, then run the retry below.`);
  }
  const unfinished = result.requested - result.succeeded;
  if (unfinished > 0)
    lines.push(
      `Unfinished: ${unfinished} item(s). Run them again into this batch: ${where.retry ?? retryCommand(result)}`,
    );
  return lines.join('\n');
}

/** A listed batch's status (with why it failed) and creation time (UTC), as a person reads them. */
export function listedBatch(batch: BatchSummary) {
  const created = batch.createdAt.slice(0, 19).replace('T', ' ');
  if (batch.status === 'unreadable') {
    return { status: 'unreadable record', stored: '?', failed: '?', requested: '?', created, problem: batch.error };
  }
  return {
    status: batch.error ? `${batch.status} (${batch.error})` : batch.status,
    // Images its folder holds that no manifest vouches for: stored, but not accounted for.
    stored: batch.unrecorded ? `${batch.unrecorded} unrecorded` : String(batch.succeeded),
    failed: String(batch.failed),
    requested: String(batch.requested),
    created,
    problem: undefined,
  };
}

/** A page of batches as a table for a person, newest first, with the command for the next page. */
export function batchTable(page: BatchPage): string {
  if (page.batches.length === 0) return 'No batches in the bucket.';
  const rows = [['BATCH', 'STATUS', 'STORED', 'FAILED', 'REQUESTED', 'CREATED (UTC)']];
  const problems: string[] = [];
  for (const batch of page.batches) {
    const { status, stored, failed, requested, created, problem } = listedBatch(batch);
    rows.push([batch.batchId, status, stored, failed, requested, created]);
    if (problem) problems.push(`${batch.batchId}: ${problem}`);
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  // Text left-aligned, counts right-aligned.
  const lines = rows.map((row) =>
    row
      .map((cell, column) =>
        column >= 2 && column <= 4 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd(),
  );
  lines.push(...problems);
  if (page.next) lines.push(`More: npm start -- --list --cursor ${page.next}`);
  return lines.join('\n');
}

/** What `--delete` removed, as a line: its objects by kind and size, where they were, and the local copy. */
export function deletedText(
  deleted: { images: number; documents: number; bytes: number },
  where: string,
  copy: string | undefined,
): string {
  const what =
    deleted.images + deleted.documents === 0
      ? `Nothing left to delete under ${where}`
      : `Deleted ${deleted.images} image(s) and ${deleted.documents} other object(s) (${byteSize(deleted.bytes)}) under ${where}`;
  return `${what}${copy ? `; removed the copy ${copy}` : ''}.`;
}
