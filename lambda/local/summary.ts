import type { BatchResult } from '../function/contracts/result.js';

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The human summary printed after a local batch. */
export function summarize(result: BatchResult, storageNote: string, folder: string | undefined): string {
  const seconds = (result.elapsedMs / 1000).toFixed(2);
  const lines = [
    ...(result.status === 'cancelled' ? ['Cancelled: unfinished items are listed as cancelled in the manifest.'] : []),
    `Stored ${result.succeeded} of ${result.requested} images (${megabytes(result.bytes)}) in ${seconds} s at concurrency ${result.concurrency}.`,
    `Item latency ms: p50 ${result.latencyMs.p50}, p90 ${result.latencyMs.p90}, p99 ${result.latencyMs.p99}, max ${result.latencyMs.max}.`,
  ];
  if (result.failed > 0) {
    lines.push(`Failed: ${result.failed}`);
    const counts = Object.entries(result.failureCounts ?? {}).map(([reason, n]) => `${reason} ${n}`);
    if (counts.length > 0) lines.push(`  by reason: ${counts.join(', ')}`);
    for (const failure of result.failures.slice(0, 10)) {
      lines.push(`  #${failure.index}: ${failure.reason} after ${failure.attempts} attempt(s): ${failure.message}`);
    }
    if (result.failed > 10) lines.push(`  ... and ${result.failed - 10} more in the manifest`);
  }
  lines.push(`Where: ${storageNote}, s3://${result.bucket}/${result.prefix}`);
  if (folder) lines.push(`Files: ${folder} (each image is stored as <name>._S3rver_object)`);
  lines.push(`Manifest: s3://${result.bucket}/${result.manifestKey}`);
  if (result.manifestError) lines.push(`The manifest could not be written: ${result.manifestError}`);
  else if (result.reportError) lines.push(`report.html could not be written: ${result.reportError}`);
  else lines.push(`Report: s3://${result.bucket}/${result.prefix}report.html`);
  return lines.join('\n');
}
