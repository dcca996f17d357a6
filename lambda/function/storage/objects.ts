import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { backoffMs, sleep } from '../contracts/backoff.js';
import type { Config } from '../contracts/config.js';
import type { S3Sender } from './s3-client.js';
import { StoreError, storeCall } from './store-error.js';

type RetryConfig = Pick<Config, 'retryBaseMs' | 'retryMaxMs' | 'maxAttempts'>;

/**
 * Runs a small S3 call (a JSON document, a listing) up to MAX_ATTEMPTS times. Only storage
 * failures that can heal are retried; S3's refusals and anything unexpected are thrown at once.
 */
async function withRetries<T>(
  config: RetryConfig,
  what: string,
  call: () => Promise<T>,
  alsoRetry: (error: unknown) => boolean = () => false,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await storeCall(what, call);
    } catch (error) {
      const retryable = (error instanceof StoreError && error.retryable) || alsoRetry(error);
      if (attempt >= config.maxAttempts || !retryable) throw error;
      await sleep(backoffMs(attempt, config));
    }
  }
}

/** Writes a JSON document (the manifest, a status record), retrying transient failures. */
export async function putJson(s3: S3Sender, config: Config, key: string, value: unknown): Promise<void> {
  await putText(s3, config, key, JSON.stringify(value), 'application/json');
}

/** Writes a text document of `contentType` (a batch's report page), retrying transient failures. */
export async function putText(
  s3: S3Sender,
  config: Config,
  key: string,
  body: string,
  contentType: string,
): Promise<void> {
  await withRetries(config, 'S3 PutObject', () =>
    s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body, ContentType: contentType })),
  );
}

/** A JSON document as stored, with the ETag that names this version of it. */
export type Versioned<T> = { value: T; etag: string };

/**
 * Reads a JSON document and its ETag, or undefined when there is no such key; one over `maxBytes`
 * is not read (a RangeError). A document that does not parse is read again: S3 never serves half
 * a write, but s3rver writes in place and a reader racing a writer (a status record being
 * rewritten) can see the first half.
 */
export async function getJsonVersioned<T>(
  s3: S3Sender,
  config: Config,
  key: string,
  options: { maxBytes?: number } = {},
): Promise<Versioned<T> | undefined> {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  try {
    return await withRetries(
      config,
      'S3 GetObject',
      async () => {
        const response = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
        if ((response.ContentLength ?? 0) > maxBytes) {
          (response.Body as { destroy?(): void } | undefined)?.destroy?.();
          throw new RangeError(`${key} is ${response.ContentLength} bytes, over the ${maxBytes} read`);
        }
        const text = await response.Body?.transformToString();
        return text === undefined ? undefined : { value: JSON.parse(text) as T, etag: response.ETag ?? '' };
      },
      (error) => error instanceof SyntaxError,
    );
  } catch (error) {
    if (error instanceof StoreError && error.code === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** Reads a JSON document, or undefined when there is no such key (see getJsonVersioned). */
export async function getJson<T>(
  s3: S3Sender,
  config: Config,
  key: string,
  options: { maxBytes?: number } = {},
): Promise<T | undefined> {
  return (await getJsonVersioned<T>(s3, config, key, options))?.value;
}

/**
 * Writes a JSON document only if what is stored under `key` is still the version read: the one
 * with ETag `etag` (`If-Match`), or nothing at all when `etag` is undefined (`If-None-Match: *`).
 * Both are atomic checks in S3. Returns false when another write came first (412), or is racing
 * this one (409).
 */
export async function putJsonIfUnchanged(
  s3: S3Sender,
  config: Config,
  key: string,
  value: unknown,
  etag: string | undefined,
): Promise<boolean> {
  const put = new PutObjectCommand({
    Bucket: config.bucket,
    Key: key,
    Body: JSON.stringify(value),
    ContentType: 'application/json',
    ...(etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag }),
  });
  try {
    // 409 and 412 are 4xx: never retried, they are answers.
    await withRetries(config, 'S3 conditional PutObject', () => s3.send(put));
    return true;
  } catch (error) {
    if (error instanceof StoreError && (error.status === 412 || error.status === 409)) return false;
    throw error;
  }
}

/**
 * Writes a JSON document only if nothing is stored under `key` yet (`If-None-Match: *`). Returns
 * false when the key was taken first.
 */
export const putJsonIfAbsent = (s3: S3Sender, config: Config, key: string, value: unknown): Promise<boolean> =>
  putJsonIfUnchanged(s3, config, key, value, undefined);

/**
 * Every key under `prefix`, page by page. (Callers list at most MAX_CHUNKS keys, one page: s3rver
 * cannot continue a v2 listing on Node's OpenSSL 3, see test/support/harness.ts.)
 */
export async function listKeys(s3: S3Sender, config: Config, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await withRetries(config, 'S3 ListObjectsV2', () =>
      s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix, ContinuationToken: token })),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * The folders directly under `prefix` (S3's common prefixes with delimiter `/`), as names without
 * the prefix or the slash, every page of them.
 */
export async function listFolders(s3: S3Sender, config: Config, prefix: string): Promise<string[]> {
  const folders: string[] = [];
  let token: string | undefined;
  do {
    const page = await withRetries(config, 'S3 ListObjectsV2', () =>
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
