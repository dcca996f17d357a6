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

/** S3 metadata travels as HTTP headers: printable ASCII as is, anything else percent-encoded (UTF-8). */
const headerSafe = (text: string): string => (/^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text));

export type StoredImage = { key: string; bytes: number; sha256: string };

function putInput(config: Config, image: ImageObject) {
  return {
    Bucket: config.bucket,
    Key: imageKey(config, image),
    ContentType: image.contentType,
    Metadata: {
      'picsum-id': image.picsumId,
      'source-url': image.sourceUrl,
      'batch-id': image.batchId,
      ...(image.credit?.author === undefined ? {} : { 'photo-author': headerSafe(image.credit.author) }),
      ...(image.credit?.page === undefined ? {} : { 'photo-page': headerSafe(image.credit.page) }),
    },
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
