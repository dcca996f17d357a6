import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pMap from 'p-map';
import type { Config } from '../function/contracts/config.js';
import type { Manifest } from '../function/contracts/result.js';
import type { Deps } from '../function/pipeline/item-context.js';
import { manifestKey, nameInBatch, reportKey } from '../function/storage/keys.js';
import { digestObject } from './stored-object.js';

/** Objects read from the bucket at once: enough to fill a local link, few enough for any server. */
const FOLDER_CONCURRENCY = 16;

/** What a batch's folder came to: where it is, and what it could not hold as the bucket does. */
export type BatchFolder = { folder: string; images: number; missing: string[] };

/** The SHA-256 (hex) of a file, or undefined when there is none. */
async function fileSha256(path: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch {
    return undefined;
  }
  return hash.digest('hex');
}

/**
 * Copies `key` into `path` by way of a partial file, renamed into place only when it is whole and,
 * given `sha256`, holds exactly those bytes: the folder never holds half an image under its name.
 * False when the bucket has no such key or holds other bytes.
 */
async function copyObject(deps: Deps, config: Config, key: string, path: string, sha256?: string): Promise<boolean> {
  const partial = `${path}.partial`;
  try {
    const digest = await digestObject(deps.s3, config, key, createWriteStream(partial));
    if (digest === undefined || (sha256 !== undefined && digest.sha256 !== sha256)) {
      await rm(partial, { force: true });
      return false;
    }
    await rename(partial, path);
    return true;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * A batch as a plain folder, `{directory}/{batchId}/`: every image the manifest lists as stored,
 * under its own name, beside `manifest.json` and `report.html` (which finds the images by those
 * names), so the report opens from disk. Each image is read back from the bucket and kept only if
 * it matches the manifest's sha256; one the folder holds already (a batch retried) is not read again.
 */
export async function writeBatchFolder(
  manifest: Manifest,
  options: { config: Config; deps: Deps },
  directory: string,
): Promise<BatchFolder> {
  const { config, deps } = options;
  const folder = join(directory, manifest.batchId);
  await mkdir(folder, { recursive: true });
  const stored = manifest.items.flatMap((item) => (item.ok ? [item] : []));
  const missing: string[] = [];
  // In index order, as the manifest lists them, whatever order the copies end in.
  const copied = await pMap(
    stored,
    async (item) => {
      const path = join(folder, nameInBatch(item.key));
      return (await fileSha256(path)) === item.sha256 || copyObject(deps, config, item.key, path, item.sha256);
    },
    { concurrency: FOLDER_CONCURRENCY },
  );
  stored.forEach((item, i) => {
    if (!copied[i]) missing.push(item.key);
  });
  const images = stored.length - missing.length;
  for (const key of [manifestKey(config, manifest.batchId), reportKey(config, manifest.batchId)]) {
    if (!(await copyObject(deps, config, key, join(folder, nameInBatch(key))))) missing.push(key);
  }
  return { folder, images, missing };
}
