/**
 * The S3 layout, every key of it. Under `{KEY_PREFIX}`:
 *
 *   {batchId}/{index padded}-{picsumId}.{ext}   an image, byte-identical to what the source served
 *   {batchId}/manifest.json                     the request, the result and every item
 *   {batchId}/report.html                       the batch as a page (images, waterfall), self-contained
 *   {batchId}/linked-report.html                the same with presigned links, rewritten whenever links are given
 *   {batchId}/status.json                       accepted / running / done / failed, for GET
 *   {batchId}/chunks/{n}.json                   a finished chunk of a batch split over Step Functions
 *   {batchId}/progress/{n}.json                 a running chunk's counts
 *   {batchId}/retries/{r}.json                  retry run r's claim: the items it runs again
 *   {batchId}/retries/{r}/chunks/{n}.json       a finished chunk of a chunked retry
 *   {batchId}/retries/{r}/progress/{n}.json     its running counts
 *   idempotency/{sha256 of the key}.json        which batch an Idempotency-Key started
 *   catalog.json                                picsum's catalog as last read (kept a day)
 */
import { RECORDS_FOLDER } from '../contracts/request.js';

type Prefixed = { keyPrefix: string };

/** `{prefix}{batchId}/` — where a batch's objects and documents live. */
export const batchPrefix = (config: Prefixed, batchId: string): string => `${config.keyPrefix}${batchId}/`;

/** `{prefix}{batchId}/{index padded}-{picsumId}.{ext}`, padded to the width of the batch's last index. */
export function imageKey(
  config: Prefixed,
  item: { batchId: string; index: number; count: number; picsumId: string; format: 'jpg' | 'webp' },
): string {
  const width = String(Math.max(item.count - 1, 0)).length;
  return `${batchPrefix(config, item.batchId)}${String(item.index).padStart(width, '0')}-${item.picsumId}.${item.format}`;
}

/** The name of an object within its batch's folder: what a page beside them (report.html) links to. */
export const nameInBatch = (key: string): string => key.slice(key.lastIndexOf('/') + 1);

/** The picsum id an image key names (`.../{index}-{picsumId}.{ext}`), or undefined for any other key. */
export const photoOfKey = (key: string): string | undefined => /\/\d+-([A-Za-z0-9_-]+)\.(?:jpg|webp)$/.exec(key)?.[1];

/** Whether `key` is one of batch `batchId`'s images as imageKey names them: an image name directly in its folder. */
export function isImageKeyOf(config: Prefixed, batchId: string, key: string): boolean {
  const prefix = batchPrefix(config, batchId);
  return key.startsWith(prefix) && !key.includes('/', prefix.length) && photoOfKey(key) !== undefined;
}

export const manifestKey = (config: Prefixed, batchId: string): string =>
  `${batchPrefix(config, batchId)}manifest.json`;

export const reportKey = (config: Prefixed, batchId: string): string => `${batchPrefix(config, batchId)}report.html`;

/** report.html with presigned URLs of its images and manifest: a page that opens from its own presigned URL. */
export const linkedReportKey = (config: Prefixed, batchId: string): string =>
  `${batchPrefix(config, batchId)}linked-report.html`;

export const statusKey = (config: Prefixed, batchId: string): string => `${batchPrefix(config, batchId)}status.json`;

/** Where a run's chunk documents live: the batch's first run at its top, retry run `r` under `retries/{r}/`. */
const runPrefix = (config: Prefixed, batchId: string, retry: number | undefined): string =>
  `${batchPrefix(config, batchId)}${retry === undefined ? '' : `retries/${retry}/`}`;

export const chunkKey = (config: Prefixed, batchId: string, chunk: number, retry?: number): string =>
  `${runPrefix(config, batchId, retry)}chunks/${chunk}.json`;

export const progressPrefix = (config: Prefixed, batchId: string, retry?: number): string =>
  `${runPrefix(config, batchId, retry)}progress/`;

export const progressKey = (config: Prefixed, batchId: string, chunk: number, retry?: number): string =>
  `${progressPrefix(config, batchId, retry)}${chunk}.json`;

export const retryClaimKey = (config: Prefixed, batchId: string, retry: number): string =>
  `${batchPrefix(config, batchId)}retries/${retry}.json`;

/** picsum's catalog as last read, so that a cold start need not ask picsum for it again. */
export const catalogKey = (config: Prefixed): string => `${config.keyPrefix}catalog.json`;

/** The key of an Idempotency-Key's record, by the key's SHA-256 (hex): any header value makes a safe key. */
export const idempotencyKey = (config: Prefixed, keySha256: string): string =>
  `${config.keyPrefix}${RECORDS_FOLDER}/${keySha256}.json`;
