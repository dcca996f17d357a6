import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import pMap from 'p-map';
import type { Config } from '../contracts/config.js';
import { RecordError } from '../contracts/errors.js';
import type { S3Sender } from './s3-client.js';
import { StoreError, storeCall } from './store-error.js';

/** Writes a JSON document (the manifest, a status record), retried by the SDK (see s3-client.ts). */
export async function putJson(s3: S3Sender, config: Config, key: string, value: unknown): Promise<void> {
  await putText(s3, config, key, JSON.stringify(value), 'application/json');
}

/** Writes a text document of `contentType` (a batch's report page), retried by the SDK (see s3-client.ts). */
export async function putText(
  s3: S3Sender,
  config: Config,
  key: string,
  body: string,
  contentType: string,
): Promise<void> {
  await storeCall('S3 PutObject', () =>
    s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body, ContentType: contentType })),
  );
}

/**
 * Reads a JSON document, or undefined when there is no such key; one over `maxBytes` is not read
 * (a RangeError), one that is not JSON is a RecordError naming its key (S3, and the embedded S3,
 * replace an object whole: a reader never sees half a write).
 */
export async function getJson<T>(
  s3: S3Sender,
  config: Config,
  key: string,
  options: { maxBytes?: number } = {},
): Promise<T | undefined> {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  try {
    const text = await storeCall('S3 GetObject', async () => {
      const response = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
      if ((response.ContentLength ?? 0) > maxBytes) {
        (response.Body as { destroy?(): void } | undefined)?.destroy?.();
        throw new RangeError(`${key} is ${response.ContentLength} bytes, over the ${maxBytes} read`);
      }
      return response.Body?.transformToString();
    });
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new RecordError(`s3://${config.bucket}/${key} is not valid JSON`);
    }
  } catch (error) {
    if (error instanceof StoreError && error.s3Code === 'NoSuchKey') return undefined;
    throw error;
  }
}

/**
 * Writes a JSON document only if nothing is stored under `key` yet (`If-None-Match: *`, an atomic
 * check in S3). Returns false when the key was taken first (412), or another write of it is
 * racing this one (409).
 */
export async function putJsonIfAbsent(s3: S3Sender, config: Config, key: string, value: unknown): Promise<boolean> {
  const put = new PutObjectCommand({
    Bucket: config.bucket,
    Key: key,
    Body: JSON.stringify(value),
    ContentType: 'application/json',
    IfNoneMatch: '*',
  });
  try {
    // 409 and 412 are 4xx: never retried, they are answers.
    await storeCall('S3 conditional PutObject', () => s3.send(put));
    return true;
  } catch (error) {
    if (error instanceof StoreError && (error.s3Status === 412 || error.s3Status === 409)) return false;
    throw error;
  }
}

/** Every object under `prefix`, with its size, page by page. */
export async function listObjects(
  s3: S3Sender,
  config: Config,
  prefix: string,
): Promise<{ key: string; size: number }[]> {
  const objects: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await storeCall('S3 ListObjectsV2', () =>
      s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix, ContinuationToken: token })),
    );
    for (const object of page.Contents ?? []) if (object.Key) objects.push({ key: object.Key, size: object.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** Every key under `prefix`, page by page. */
export async function listKeys(s3: S3Sender, config: Config, prefix: string): Promise<string[]> {
  return (await listObjects(s3, config, prefix)).map((object) => object.key);
}

/** Keys one DeleteObjects call takes, S3's most. */
const DELETE_BATCH = 1000;

/**
 * Deletes `keys` with S3's DeleteObjects, a thousand a call, a few calls at once (retried by the
 * SDK: deleting again is harmless). A key S3 answers it could not delete fails the whole, naming it.
 */
export async function deleteKeys(s3: S3Sender, config: Config, keys: readonly string[]): Promise<void> {
  const calls = Array.from({ length: Math.ceil(keys.length / DELETE_BATCH) }, (_, i) =>
    keys.slice(i * DELETE_BATCH, (i + 1) * DELETE_BATCH),
  );
  await pMap(
    calls,
    async (batch) => {
      const answer = await storeCall('S3 DeleteObjects', () =>
        s3.send(
          new DeleteObjectsCommand({
            Bucket: config.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const [refused] = answer.Errors ?? [];
      if (refused) {
        throw new StoreError(`S3 DeleteObjects could not delete ${refused.Key}: ${refused.Code} ${refused.Message}`, {
          s3Code: refused.Code ?? 'DeleteFailed',
          cause: refused,
        });
      }
    },
    { concurrency: 4 },
  );
}

/**
 * The folders directly under `prefix` (S3's common prefixes with delimiter `/`), as names without
 * the prefix or the slash, every page of them.
 */
export async function listFolders(s3: S3Sender, config: Config, prefix: string): Promise<string[]> {
  const folders: string[] = [];
  let token: string | undefined;
  do {
    const page = await storeCall('S3 ListObjectsV2', () =>
      s3.send(
        new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
      ),
    );
    for (const common of page.CommonPrefixes ?? []) {
      if (common.Prefix) folders.push(common.Prefix.slice(prefix.length, -1));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return folders;
}
