import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream';
import type { Config } from '../contracts/config.js';
import { discard, type OpenedImage, toSourceError } from '../source/picsum.js';
import { type ImageObject, putImageStream, type StoredImage } from '../storage/images.js';
import type { S3Sender } from '../storage/s3-client.js';
import { BodyCheck, ByteGuard } from './body-check.js';
import type { BufferPool } from './buffer-pool.js';
import { followAbort } from './follow-abort.js';

/**
 * Bodies up to this size are read whole, then written with one PutObject (hashed once, signed with
 * that hash). Larger ones stream straight into a PutObject, so download and upload overlap and an
 * item holds a socket's worth of its image: whole bodies in flight stay within this size times the
 * concurrency (16 MB at the most concurrency allowed).
 */
export const STREAM_THRESHOLD_BYTES = 256 * 1024;

/** Whether an opened image streams into S3 (large, known length) or is read whole first. */
export const shouldStream = (image: OpenedImage): boolean => (image.contentLength ?? 0) > STREAM_THRESHOLD_BYTES;

/** Where an item's image goes: the batch, its place in it, its format. */
export type ItemRef = Pick<ImageObject, 'batchId' | 'index' | 'count' | 'format' | 'credit'>;

/**
 * An image read whole and checked: its length matched Content-Length and stayed under the limit.
 * `release` gives its buffer back to the pool once it is written (or given up on).
 */
export type DownloadedImage = ImageObject & { body: Buffer; sha256: string; release(): void };

const objectOf = (image: OpenedImage, item: ItemRef): ImageObject => ({
  ...item,
  picsumId: image.picsumId,
  contentType: image.contentType,
  sourceUrl: image.sourceUrl,
});

/** Reads a body whole through the check; throws a SourceError when it is cut, too long or too large. */
export async function readWhole(
  image: OpenedImage,
  item: ItemRef,
  config: Config,
  pool: BufferPool,
): Promise<DownloadedImage> {
  // Without a Content-Length the body is held whole as it comes, in a pooled buffer of the cap's
  // size: MAX_UNSIZED_IMAGE_BYTES bounds that memory, and no list of chunks is joined at the end.
  const sized = image.contentLength !== undefined;
  const limit = sized ? config.maxImageBytes : config.maxUnsizedImageBytes;
  // Hashed once below, over the whole buffer: cheaper than chunk by chunk.
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent but for CPU time
  const check = new BodyCheck(image.contentLength, limit, item.format, { hash: false });
  const lease = pool.take(image.contentLength ?? config.maxUnsizedImageBytes);
  try {
    for await (const chunk of image.body) {
      const offset = check.bytes;
      check.add(chunk as Buffer);
      (chunk as Buffer).copy(lease.bytes, offset);
    }
    check.finish();
  } catch (error) {
    lease.giveBack();
    // Stryker disable next-line CallExpression: equivalent — leaving the for-await above (by a throw) destroys the body already
    discard(image.body);
    throw toSourceError(error);
  }
  const body = sized ? lease.bytes : lease.bytes.subarray(0, check.bytes);
  const sha256 = createHash('sha256').update(body).digest('hex');
  return { ...objectOf(image, item), body, sha256, release: () => lease.giveBack() };
}

/**
 * Streams a body of known length straight into a PutObject of that length, so download and upload
 * overlap and only a socket's worth of the image is in memory. The guard holds back the last bytes
 * until the source has ended cleanly; if the source fails mid-body (a cancelled run aborts its
 * request, and so its body) or the deadline comes, the upload is aborted short of its
 * Content-Length and S3 keeps nothing. A body that arrived whole is not given up on for a
 * cancellation: its PUT may already be stored, and the manifest must say so.
 */
export async function streamThrough(
  s3: S3Sender,
  config: Config,
  image: OpenedImage,
  item: ItemRef,
  deadline: AbortSignal,
): Promise<StoredImage> {
  const length = image.contentLength ?? 0;
  const guard = new ByteGuard(length, config.maxImageBytes, item.format);
  const { controller: upload, unfollow } = followAbort(deadline);
  let sourceError: unknown;
  pipeline(image.body, guard, (error) => {
    if (error) {
      sourceError = error;
      upload.abort(error);
    }
  });
  let key: string;
  try {
    key = await putImageStream(s3, config, objectOf(image, item), guard, length, upload.signal);
  } catch (error) {
    throw sourceError ? toSourceError(sourceError) : error;
  } finally {
    unfollow();
    // An upload that failed first leaves the source body half read: destroy it to free the socket.
    guard.destroy();
  }
  if (sourceError) throw toSourceError(sourceError);
  return { key, bytes: guard.check.bytes, sha256: guard.check.sha256 };
}
