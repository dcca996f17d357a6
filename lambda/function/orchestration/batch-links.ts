import type { Config } from '../contracts/config.js';
import type { BatchResult, Manifest } from '../contracts/result.js';
import type { Deps } from '../pipeline/item-context.js';
import { REPORT_PAGE_SIZE, renderReport } from '../report/batch-report.js';
import { linkedReportKey, manifestKey, nameInBatch } from '../storage/keys.js';
import type { BatchRecords } from './batch-records.js';

export type BatchLinks = NonNullable<BatchResult['links']>;

/**
 * Presigned GET URLs that open a finished batch without credentials: its manifest, and its page.
 * report.html links its images by their names beside it, which its own presigned URL cannot open
 * (each object needs its own signature), so the page linked is linked-report.html, written now:
 * the same page with its first page of images and the manifest linked by presigned URLs. Every URL
 * is signed at one moment for config.linkExpirySeconds: the images last as long as the page.
 * Undefined where nothing signs URLs.
 */
export async function batchLinks(
  manifest: Manifest,
  options: { config: Config; deps: Pick<Deps, 'signUrl'>; records: BatchRecords },
): Promise<BatchLinks | undefined> {
  const { config, deps, records } = options;
  const { signUrl } = deps;
  if (!signUrl) return undefined;
  const { batchId } = manifest;
  // In whole seconds, as SigV4 dates are: `expiresAt` is then exactly when the URLs stop working.
  const signing = { expiresIn: config.linkExpirySeconds, signingDate: new Date(Math.floor(Date.now() / 1000) * 1000) };
  const shown = manifest.items.slice(0, REPORT_PAGE_SIZE).flatMap((item) => (item.ok ? [item.key] : []));
  const [manifestUrl = '', reportUrl = '', ...imageUrls] = await signUrl(
    [manifestKey(config, batchId), linkedReportKey(config, batchId), ...shown],
    signing,
  );
  const imageUrlOf = new Map(shown.map((key, i) => [key, imageUrls[i] ?? '']));
  const page = renderReport(manifest, {
    imageHref: (key) => imageUrlOf.get(key) ?? nameInBatch(key),
    manifestHref: manifestUrl,
  });
  await records.putLinkedReport(batchId, page);
  return {
    manifest: manifestUrl,
    report: reportUrl,
    expiresAt: new Date(signing.signingDate.getTime() + signing.expiresIn * 1000).toISOString(),
  };
}
