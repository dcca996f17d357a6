import type { Readable } from 'node:stream';
import { CopyObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { HttpRequest } from '@smithy/types';
import type { Config } from '../contracts/config.js';
import type { PhotoCredit } from '../contracts/result.js';
import { imageKey } from './keys.js';
import type { S3Sender } from './s3-client.js';
import { storeCall } from './store-error.js';

/** What an image object is stored as: its key's parts, its Content-Type and where it came from. */
export type ImageObject = {
  batchId: string;
  index: number;
  count: number;
  format: 'jpg' | 'webp';
  picsumId: string;
  contentType: string;
  /** The URL asked for (before redirects): kept as the object's `source-url` metadata. */
  sourceUrl: string;
  /** The photo's author and page, from picsum's catalog: `photo-author` and `photo-page` metadata. */
  credit?: PhotoCredit | undefined;
};

/** S3 refuses an object whose user metadata, keys and values in UTF-8, is over 2 KB. */
export const MAX_METADATA_BYTES = 2048;

/**
 * `text` as an S3 metadata value (an HTTP header): printable ASCII as is, anything else
 * percent-encoded (UTF-8); cut to at most `maxBytes` between characters, never inside one.
 */
function headerSafe(text: string, maxBytes: number): string {
  const ascii = /^[\x20-\x7e]*$/.test(text);
  let value = '';
  for (const character of text) {
    const next = ascii ? character : encodeURIComponent(character);
    if (value.length + next.length > maxBytes) break;
    value += next;
  }
  return value;
}

const metadataBytes = (metadata: Record<string, string>): number =>
  Object.entries(metadata).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);

export type StoredImage = { key: string; bytes: number; sha256: string };

/**
 * An image's metadata: where it came from, and its credit cut to keep the whole within S3's 2 KB
 * (the author first, up to a quarter of it; the page gets the rest). The manifest keeps the credit whole.
 */
function metadataOf(image: ImageObject): Record<string, string> {
  const metadata: Record<string, string> = {
    'picsum-id': image.picsumId,
    'source-url': image.sourceUrl,
    'batch-id': image.batchId,
  };
  const { author, page } = image.credit ?? {};
  if (author !== undefined) {
    const room = MAX_METADATA_BYTES - metadataBytes(metadata) - 'photo-author'.length - 'photo-page'.length;
    metadata['photo-author'] = headerSafe(author, Math.min(MAX_METADATA_BYTES / 4, Math.max(0, room)));
  }
  if (page !== undefined) {
    const room = MAX_METADATA_BYTES - metadataBytes(metadata) - 'photo-page'.length;
    metadata['photo-page'] = headerSafe(page, Math.max(0, room));
  }
  return metadata;
}

function putInput(config: Config, image: ImageObject) {
  return {
    Bucket: config.bucket,
    Key: imageKey(config, image),
    ContentType: image.contentType,
    Metadata: metadataOf(image),
  };
}

/**
 * Writes an image held whole with one PutObject, atomic anywhere. Its SHA-256 is already known (for
 * the manifest): SigV4 signs it as the payload hash instead of hashing the body again, and on AWS
 * S3 it goes along as the checksum S3 verifies.
 */
export async function putImage(
  s3: S3Sender,
  config: Config,
  image: ImageObject & { body: Buffer; sha256: string },
  signal: AbortSignal,
): Promise<StoredImage> {
  const input = putInput(config, image);
  const command = new PutObjectCommand({
    ...input,
    Body: image.body,
    ContentLength: image.body.length,
    ...(config.s3Endpoint === undefined ? { ChecksumSHA256: Buffer.from(image.sha256, 'hex').toString('base64') } : {}),
  });
  // SigV4 takes a payload hash already in the request as given, so the body is not hashed twice.
  command.middlewareStack.add(
    (next) => (args) => {
      (args.request as HttpRequest).headers['x-amz-content-sha256'] = image.sha256;
      return next(args);
    },
    // Stryker disable next-line StringLiteral: equivalent here — smithy's stack leaves an entry of an unknown step where this one sorts, and the name only identifies it
    { step: 'build', name: 'knownPayloadHash' },
  );
  await storeCall('S3 PutObject', () => s3.send(command, { abortSignal: signal }));
  return { key: input.Key, bytes: image.body.length, sha256: image.sha256 };
}

/**
 * Streams a body of known length into one PutObject of that length. The caller's body must end only
 * once its bytes are vouched for: aborting `signal` before then leaves the PUT short of its
 * Content-Length, and S3 stores nothing (a PUT is all or nothing).
 */
export async function putImageStream(
  s3: S3Sender,
  config: Config,
  image: ImageObject,
  body: Readable,
  length: number,
  signal: AbortSignal,
): Promise<string> {
  const input = putInput(config, image);
  // On AWS S3 the SDK adds a CRC32 of the stream as a trailer, and S3 checks it.
  const checksum = config.s3Endpoint === undefined ? { ChecksumAlgorithm: 'CRC32' as const } : {};
  const command = new PutObjectCommand({ ...input, ...checksum, Body: body, ContentLength: length });
  await storeCall('S3 PutObject', () => s3.send(command, { abortSignal: signal }));
  return input.Key;
}

/**
 * Stores an image as a server-side copy of an object the batch already holds (the same photo):
 * byte-identical to it, with its own key and metadata, and no second download.
 */
export async function copyImage(
  s3: S3Sender,
  config: Config,
  from: string,
  image: ImageObject,
  signal: AbortSignal,
): Promise<string> {
  const input = putInput(config, image);
  const source = `${config.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
  const command = new CopyObjectCommand({ ...input, CopySource: source, MetadataDirective: 'REPLACE' });
  await storeCall('S3 CopyObject', () => s3.send(command, { abortSignal: signal }));
  return input.Key;
}
