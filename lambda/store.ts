import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Config } from './config.js';
import { SourceError } from './errors.js';
import { withRetries } from './retry.js';
import { type OpenedImage, toSourceError } from './source.js';

/** The narrow slice of S3Client the core uses, so tests can pass any real client. */
export type S3Sender = Pick<S3Client, 'send'>;

/**
 * The S3 client for this config. For an S3-compatible endpoint it uses path-style addressing and
 * sends checksums only when an operation requires them: since SDK 3.729 the default wraps streamed
 * bodies in aws-chunked framing, which s3rver, MinIO and R2 store as part of the object.
 * On AWS S3 the default stays on, so every upload carries a CRC32 that S3 verifies.
 */
export function createS3Client(config: Config, overrides: Partial<S3ClientConfig> = {}): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: config.maxConcurrency + 8 };
  return new S3Client({
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
    // where the whole item (download and upload) is tried again.
    maxAttempts: 1,
    requestHandler: {
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
    },
    ...overrides,
  });
}

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
 * Passes bytes through while counting and hashing them; fails when the stream ends short of the
 * declared length or runs past it (or past the size limit), so a cut body never completes an upload.
 */
class ByteGuard extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');
  sha256 = '';

  constructor(
    private readonly expected: number | undefined,
    private readonly limit: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(new SourceError('too_large', `Image is over MAX_IMAGE_BYTES (${this.limit})`));
      return;
    }
    if (this.expected !== undefined && this.bytes > this.expected) {
      callback(new SourceError('source_network', `Body ran past Content-Length ${this.expected}`, { retryable: true }));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expected !== undefined && this.bytes !== this.expected) {
      callback(
        new SourceError('source_network', `Body cut short at ${this.bytes} of ${this.expected} bytes`, {
          retryable: true,
        }),
      );
      return;
    }
    this.sha256 = this.hash.digest('hex');
    callback();
  }
}

async function collect(stream: ByteGuard): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export type StoredImage = { key: string; bytes: number; sha256: string };

/**
 * Writes one opened image to S3. With a known length the body streams straight into PutObject
 * (download and upload overlap); without one it is read whole, up to MAX_IMAGE_BYTES, first.
 * If the source fails mid-body the upload is aborted, so S3 never completes the object.
 */
export async function storeImage(
  s3: S3Sender,
  config: Config,
  image: OpenedImage,
  item: { batchId: string; index: number; count: number; format: 'jpg' | 'webp' },
  signal: AbortSignal,
): Promise<StoredImage> {
  const key = imageKey(config, { ...item, picsumId: image.picsumId });
  const guard = new ByteGuard(image.contentLength, config.maxImageBytes);
  const upload = new AbortController();
  let sourceError: unknown;
  pipeline(image.body, guard, (error) => {
    if (error) {
      sourceError = error;
      upload.abort(error);
    }
  });
  try {
    const body = image.contentLength === undefined ? await collect(guard) : guard;
    await s3.send(
      new PutObjectCommand({
        Bucket: config.bucket,
        Key: key,
        Body: body,
        ContentLength: image.contentLength ?? (body as Buffer).length,
        ContentType: image.contentType,
        Metadata: { 'picsum-id': image.picsumId, 'source-url': image.sourceUrl, 'batch-id': item.batchId },
      }),
      { abortSignal: AbortSignal.any([signal, upload.signal]) },
    );
  } catch (error) {
    throw sourceError ? toSourceError(sourceError) : error;
  } finally {
    // An upload that failed first leaves the source body half read: destroy it to free the socket.
    guard.destroy();
  }
  if (sourceError) throw toSourceError(sourceError);
  return { key, bytes: guard.bytes, sha256: guard.sha256 };
}

/** Writes a JSON document (the manifest, a status record), retrying transient failures. */
export async function putJson(s3: S3Sender, config: Config, key: string, value: unknown): Promise<void> {
  const body = JSON.stringify(value);
  await withRetries(config, () =>
    s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body, ContentType: 'application/json' })),
  );
}

/** Reads a JSON document, or undefined when there is no such key. */
export async function getJson<T>(s3: S3Sender, config: Config, key: string): Promise<T | undefined> {
  try {
    const text = await withRetries(config, async () => {
      const response = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
      return response.Body?.transformToString();
    });
    return text === undefined ? undefined : (JSON.parse(text) as T);
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}
