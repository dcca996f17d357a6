import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { BuildMiddleware, MetadataBearer, RetryStrategy } from '@smithy/types';
import { withRetries } from '../contracts/backoff.js';
import type { Config } from '../contracts/config.js';
import { SourceError } from '../contracts/errors.js';
import type { BufferPool } from '../pipeline/buffer-pool.js';
import { discard, type OpenedImage, toSourceError } from '../source/picsum.js';
import { S3HttpHandler } from './s3-http-handler.js';
import { attachUploadContext, uploadContextOf } from './upload-context.js';

/** The narrow slice of S3Client the core uses, so tests can pass any real client. */
export type S3Sender = Pick<S3Client, 'send'>;

/**
 * The S3 client for this config. For an S3-compatible endpoint it uses path-style addressing and
 * sends checksums only when an operation requires them: since SDK 3.729 the default wraps streamed
 * bodies in aws-chunked framing, which s3rver, MinIO and R2 store as part of the object.
 * On AWS S3 the default stays on, so every upload carries a CRC32 that S3 verifies.
 */
export function createS3Client(config: Config, overrides: Partial<S3ClientConfig> = {}): S3Client {
  const client = new S3Client({
    region: config.region,
    ...(config.s3Endpoint
      ? {
          endpoint: config.s3Endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
    // One attempt per call: a streamed body cannot be replayed, so retries happen a level up,
    // where the whole item (download and upload) is tried again. A strategy that only calls on
    // (rather than maxAttempts: 1) also skips the SDK's retry tokens and per-call invocation id,
    // and its console warning for every failed streamed upload.
    retryStrategy: SINGLE_ATTEMPT,
    // No logger on purpose: with any logger but the SDK's own no-op one, every call walks its input
    // to redact it for the log, which was a third of the SDK's CPU per PutObject here.
    // One middleware stack per command type, built once instead of on every call (a quarter of
    // the SDK's CPU per PutObject). Image uploads therefore pass no per-call options: their
    // signal and payload hash travel with the body (upload-context.ts).
    cacheMiddleware: true,
    requestHandler: new S3HttpHandler({
      connections: config.maxConcurrency + 8,
      connectTimeoutMs: 5_000,
      requestTimeoutMs: 30_000,
    }),
    ...overrides,
  });
  client.middlewareStack.add(signWithKnownPayloadHash, { step: 'build', name: 'signWithKnownPayloadHash' });
  return client;
}

/** The SDK's retry step, reduced to the one attempt. */
const SINGLE_ATTEMPT: RetryStrategy = { retry: (next, args) => next(args) };

/**
 * SigV4 signs the payload's SHA-256 (x-amz-content-sha256); the signer hashes the body again
 * unless the header is there. An image's hash is computed once, for the manifest: hand it over.
 */
const signWithKnownPayloadHash: BuildMiddleware<object, MetadataBearer> = (next) => (args) => {
  const known = uploadContextOf((args.input as { Body?: unknown }).Body);
  if (known) (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = known.sha256;
  return next(args);
};

/** `{prefix}{batchId}/` — where a batch's objects and manifest live. */
export const batchPrefix = (config: Pick<Config, 'keyPrefix'>, batchId: string): string =>
  `${config.keyPrefix}${batchId}/`;

/** `{prefix}{batchId}/{index padded}-{picsumId}.{ext}`, padded to the width of the batch's last index. */
export function imageKey(
  config: Pick<Config, 'keyPrefix'>,
  item: { batchId: string; index: number; count: number; picsumId: string; format: 'jpg' | 'webp' },
): string {
  const width = String(Math.max(item.count - 1, 0)).length;
  return `${batchPrefix(config, item.batchId)}${String(item.index).padStart(width, '0')}-${item.picsumId}.${item.format}`;
}

export const manifestKey = (config: Pick<Config, 'keyPrefix'>, batchId: string): string =>
  `${batchPrefix(config, batchId)}manifest.json`;

/**
 * Counts and hashes a body as it arrives; throws when it runs past the declared length or the size
 * limit, and (at `finish`) when it ended short of the declared length.
 */
class BodyCheck {
  bytes = 0;
  sha256 = '';
  /** Hashing a body chunk by chunk costs more than one pass over the whole; only streams need it. */
  private readonly hash: Hash | undefined;

  constructor(
    private readonly expected: number | undefined,
    private readonly limit: number,
    options: { hash: boolean },
  ) {
    this.hash = options.hash ? createHash('sha256') : undefined;
  }

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) throw new SourceError('too_large', `Image is over MAX_IMAGE_BYTES (${this.limit})`);
    if (this.expected !== undefined && this.bytes > this.expected) {
      throw new SourceError('source_network', `Body ran past Content-Length ${this.expected}`, { retryable: true });
    }
    this.hash?.update(chunk);
  }

  finish(): void {
    if (this.expected !== undefined && this.bytes !== this.expected) {
      const message = `Body cut short at ${this.bytes} of ${this.expected} bytes`;
      throw new SourceError('source_network', message, { retryable: true });
    }
    if (this.hash) this.sha256 = this.hash.digest('hex');
  }
}

/**
 * BodyCheck as a stream stage, for bodies that flow straight into an upload. It holds back the
 * latest chunk until the next one arrives, and the last until the source has ended with exactly
 * the declared length: the upload's final byte is never sent for a body that turns out cut, too
 * long or too large, so the PUT stays incomplete and S3 stores nothing.
 */
class ByteGuard extends Transform {
  readonly check: BodyCheck;
  private held: Buffer | undefined;

  constructor(expected: number | undefined, limit: number) {
    super();
    this.check = new BodyCheck(expected, limit, { hash: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.check.add(chunk);
      const previous = this.held;
      this.held = chunk;
      callback(null, previous);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.check.finish();
      callback(null, this.held);
    } catch (error) {
      callback(error as Error);
    }
  }
}

export type StoredImage = { key: string; bytes: number; sha256: string };

/**
 * An image read whole and checked: its length matched Content-Length and stayed under the limit.
 * `release` gives its buffer back to the pool once it is written (or given up on).
 */
export type DownloadedImage = Omit<OpenedImage, 'body' | 'contentLength'> & {
  body: Buffer;
  sha256: string;
  release(): void;
};

/**
 * Bodies up to this size are read whole, then written with one PutObject (hashed once, signed with
 * that hash). Larger ones stream straight into a PutObject, so download and upload overlap.
 */
export const STREAM_THRESHOLD_BYTES = 1024 * 1024;

/** Whether an opened image goes through streamImage (large, known length) or downloadImage + putImage. */
export const shouldStream = (image: OpenedImage): boolean =>
  image.contentLength !== undefined && image.contentLength > STREAM_THRESHOLD_BYTES;

type ObjectFields = { Bucket: string; Key: string; ContentType: string; Metadata: Record<string, string> };
type ItemRef = { batchId: string; index: number; count: number; format: 'jpg' | 'webp' };

function objectFields(config: Config, image: Omit<OpenedImage, 'body' | 'contentLength'>, item: ItemRef): ObjectFields {
  return {
    Bucket: config.bucket,
    Key: imageKey(config, { ...item, picsumId: image.picsumId }),
    ContentType: image.contentType,
    Metadata: { 'picsum-id': image.picsumId, 'source-url': image.sourceUrl, 'batch-id': item.batchId },
  };
}

/** Reads a body whole through the guard; throws a SourceError when it is cut, too long or too large. */
export async function downloadImage(image: OpenedImage, config: Config, pool: BufferPool): Promise<DownloadedImage> {
  const check = new BodyCheck(image.contentLength, config.maxImageBytes, { hash: false });
  // With a known length, bytes go straight into a pooled buffer: no list of chunks, no second copy.
  const lease = image.contentLength === undefined ? undefined : pool.take(image.contentLength);
  const known = lease?.bytes;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of image.body) {
      const offset = check.bytes;
      check.add(chunk as Buffer);
      if (known) (chunk as Buffer).copy(known, offset);
      else chunks.push(chunk as Buffer);
    }
    check.finish();
  } catch (error) {
    lease?.giveBack();
    discard(image.body);
    throw toSourceError(error);
  }
  const { body: _stream, contentLength: _length, ...rest } = image;
  const body = known ?? Buffer.concat(chunks, check.bytes);
  const sha256 = createHash('sha256').update(body).digest('hex');
  return { ...rest, body, sha256, release: () => lease?.giveBack() };
}

/** Writes a downloaded image with one PutObject: the whole body is in hand, so the write is atomic anywhere. */
export async function putImage(
  s3: S3Sender,
  config: Config,
  image: DownloadedImage,
  item: ItemRef,
  signal: AbortSignal,
): Promise<StoredImage> {
  const fields = objectFields(config, image, item);
  attachUploadContext(image.body, { sha256: image.sha256, signal });
  await s3.send(
    new PutObjectCommand({
      ...fields,
      Body: image.body,
      ContentLength: image.body.length,
      // On AWS S3, a SHA-256 that S3 checks against what it received (and the SDK computes no CRC32).
      ...(config.s3Endpoint === undefined
        ? { ChecksumSHA256: Buffer.from(image.sha256, 'hex').toString('base64') }
        : {}),
    }),
  );
  return { key: fields.Key, bytes: image.body.length, sha256: image.sha256 };
}

/**
 * Streams a body of known length straight into a PutObject of that length, so download and upload
 * overlap and only a socket's worth of the image is in memory. The guard holds back the last bytes
 * until the source has ended cleanly; if the source fails mid-body or the deadline comes, the
 * upload is aborted short of its Content-Length, and S3 keeps nothing (a PUT is all or nothing).
 */
export async function streamImage(
  s3: S3Sender,
  config: Config,
  image: OpenedImage,
  item: ItemRef,
  signal: AbortSignal,
): Promise<StoredImage> {
  const length = image.contentLength ?? 0;
  const fields = objectFields(config, image, item);
  const guard = new ByteGuard(length, config.maxImageBytes);
  const upload = new AbortController();
  const onDeadline = () => upload.abort(signal.reason);
  signal.addEventListener('abort', onDeadline, { once: true });
  if (signal.aborted) onDeadline();
  let sourceError: unknown;
  pipeline(image.body, guard, (error) => {
    if (error) {
      sourceError = error;
      upload.abort(error);
    }
  });
  try {
    // On AWS S3 the SDK adds a CRC32 of the stream as a trailer, and S3 checks it.
    const checksum = config.s3Endpoint === undefined ? { ChecksumAlgorithm: 'CRC32' as const } : {};
    await s3.send(new PutObjectCommand({ ...fields, ...checksum, Body: guard, ContentLength: length }), {
      abortSignal: upload.signal,
    });
  } catch (error) {
    throw sourceError ? toSourceError(sourceError) : error;
  } finally {
    signal.removeEventListener('abort', onDeadline);
    // An upload that failed first leaves the source body half read: destroy it to free the socket.
    guard.destroy();
  }
  if (sourceError) throw toSourceError(sourceError);
  return { key: fields.Key, bytes: guard.check.bytes, sha256: guard.check.sha256 };
}

/** Writes a JSON document (the manifest, a status record), retrying transient failures. */
export async function putJson(s3: S3Sender, config: Config, key: string, value: unknown): Promise<void> {
  const body = JSON.stringify(value);
  await withRetries(config, () =>
    s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body, ContentType: 'application/json' })),
  );
}

/**
 * Reads a JSON document, or undefined when there is no such key. A document that does not parse
 * is read again: S3 never serves half a write, but s3rver writes in place and a reader racing a
 * writer (a status record being rewritten) can see the first half.
 */
export async function getJson<T>(s3: S3Sender, config: Config, key: string): Promise<T | undefined> {
  try {
    return await withRetries(config, async () => {
      const response = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
      const text = await response.Body?.transformToString();
      return text === undefined ? undefined : (JSON.parse(text) as T);
    });
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** S3's answer when a conditional write finds the key taken (412), or racing another (409). */
const isConditionFailed = (error: unknown): boolean => {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 412 || status === 409;
};

/**
 * Writes a JSON document only if nothing is stored under `key` yet (`If-None-Match: *`, an atomic
 * check in S3). Returns false when the key was taken first.
 */
export async function putJsonIfAbsent(s3: S3Sender, config: Config, key: string, value: unknown): Promise<boolean> {
  const body = JSON.stringify(value);
  const put = new PutObjectCommand({
    Bucket: config.bucket,
    Key: key,
    Body: body,
    ContentType: 'application/json',
    IfNoneMatch: '*',
  });
  try {
    // 409 and 412 are 4xx: withRetries hands them straight back as answers, not faults.
    await withRetries(config, () => s3.send(put));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

/**
 * Every key under `prefix`, page by page. (Callers list at most MAX_CHUNKS keys, one page: s3rver
 * cannot continue a v2 listing on Node's OpenSSL 3, see test/support/harness.ts.)
 */
export async function listKeys(s3: S3Sender, config: Config, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await withRetries(config, () =>
      s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix, ContinuationToken: token })),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}
