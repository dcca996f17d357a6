import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, realpath, rename, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import pMap from 'p-map';
import type { Config } from '../function/contracts/config.js';
import { messageOf, RequestError } from '../function/contracts/errors.js';
import type { Manifest } from '../function/contracts/result.js';
import type { Deps } from '../function/pipeline/item-context.js';
import { manifestKey, nameInBatch, reportKey } from '../function/storage/keys.js';
import { digestObject } from './stored-object.js';

/** Objects read from the bucket at once: enough to fill a local link, few enough for any server. */
const FOLDER_CONCURRENCY = 16;

/**
 * What a batch's folder came to: where it is, and what it could not hold as the bucket does; or,
 * with `error`, why the copy stopped (a full disk, a signal), its partial files removed.
 */
export type BatchFolder = { folder: string; images: number; missing: string[]; error?: string };

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
 * given `sha256`, holds exactly those bytes: the folder never holds half an image under its name,
 * and no partial file outlives the copy, whatever ends it. False when the bucket has no such key
 * or holds other bytes.
 */
async function copyObject(
  options: { deps: Deps; config: Config; signal?: AbortSignal },
  key: string,
  path: string,
  sha256?: string,
): Promise<boolean> {
  const partial = `${path}.partial`;
  try {
    const digest = await digestObject(options.deps.s3, options.config, key, {
      copy: () => createWriteStream(partial),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (digest === undefined || (sha256 !== undefined && digest.sha256 !== sha256)) return false;
    await rename(partial, path);
    return true;
  } finally {
    await rm(partial, { force: true });
  }
}

/**
 * Checks a folder to copy batches into (`--out`) before anything runs: it must be a folder (made
 * when missing) that this process can write, and outside the embedded S3's data. A RequestError
 * names the flag otherwise. Returns its absolute path.
 */
export async function checkOutFolder(out: string, dataDirectory: string | undefined, flag = '--out'): Promise<string> {
  const refuse = (why: string) =>
    new RequestError(`Expected \`${flag}\` to be a folder this process can write, ${why}`, {
      code: 'INVALID_FLAG',
      field: flag,
    });
  if (out.trim() === '') throw refuse('got ""');
  const folder = resolve(out);
  try {
    await mkdir(folder, { recursive: true });
    if (!(await stat(folder)).isDirectory()) throw refuse(`got ${JSON.stringify(out)}, which is not a folder`);
    // Writable in fact, not by its mode bits: a read-only mount, /proc, or a full disk says so here.
    const probe = await mkdtemp(join(folder, '.picsum-batch-probe-'));
    await rm(probe, { recursive: true, force: true });
  } catch (error) {
    if (error instanceof RequestError) throw error;
    throw refuse(`got ${JSON.stringify(out)}: ${messageOf(error)}`);
  }
  if (dataDirectory !== undefined) {
    const real = await realpath(folder);
    const data = await realpath(dataDirectory).catch(() => resolve(dataDirectory));
    if (real === data || real.startsWith(data + sep) || data.startsWith(real + sep)) {
      throw refuse(`and apart from the embedded S3's data (${data}); got ${JSON.stringify(out)}`);
    }
  }
  return folder;
}

/**
 * A batch as a plain folder, `{directory}/{batchId}/`: every image the manifest lists as stored,
 * under its own name, beside `manifest.json` and `report.html` (which finds the images by those
 * names), so the report opens from disk. Each image is read back from the bucket and kept only if
 * it matches the manifest's sha256; one the folder holds already (a batch retried) is not read again.
 * The folder is named after the batch id the caller asked for (checked against its pattern), and
 * each file after its key, which the manifest's reader checked to lie in that batch's folder
 * (BatchRecords.manifest): nothing read from the bucket chooses a path. A failed write (a full
 * disk) or `signal` stops the copy, and `error` says why.
 */
export async function writeBatchFolder(
  batchId: string,
  manifest: Manifest,
  options: { config: Config; deps: Deps; signal?: AbortSignal },
  directory: string,
): Promise<BatchFolder> {
  const folder = join(directory, batchId);
  const stored = manifest.items.flatMap((item) => (item.ok ? [item] : []));
  const missing: string[] = [];
  const pathOf = (key: string) => {
    const path = join(folder, nameInBatch(key));
    if (!path.startsWith(folder + sep)) throw new Error(`${key} names no file in ${folder}`);
    return path;
  };
  // The first failure stops the other copies; every copy settles (its partial file removed) before
  // this returns, so a process that exits next leaves none behind.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const copying = { ...options, signal };
  let images = 0;
  try {
    await mkdir(folder, { recursive: true });
    // In index order, as the manifest lists them, whatever order the copies end in.
    const copied = await pMap(
      stored,
      async (item) => {
        try {
          const path = pathOf(item.key);
          return (await fileSha256(path)) === item.sha256 || (await copyObject(copying, item.key, path, item.sha256));
        } catch (error) {
          stop.abort(error);
          throw error;
        }
      },
      { concurrency: FOLDER_CONCURRENCY, stopOnError: false },
    );
    stored.forEach((item, i) => {
      if (!copied[i]) missing.push(item.key);
    });
    images = stored.length - missing.length;
    for (const key of [manifestKey(options.config, batchId), reportKey(options.config, batchId)]) {
      if (!(await copyObject(copying, key, pathOf(key)))) missing.push(key);
    }
  } catch (error) {
    const first = error instanceof AggregateError ? error.errors[0] : error;
    return { folder, images: 0, missing, error: options.signal?.aborted ? 'cancelled' : messageOf(first) };
  }
  return { folder, images, missing };
}
