import type { ItemOutcome } from '../contracts/result.js';
import type { PhotoChoice } from '../source/photo-picks.js';
import { discard, imageUrl, openImage } from '../source/picsum.js';
import { SourceError } from '../source/source-error.js';
import { putImage } from '../storage/images.js';
import { creditOf } from './copy-photo.js';
import type { ItemContext } from './item-context.js';
import { type DownloadedImage, readWhole, shouldStream, streamThrough } from './transfer.js';
import { attemptSignal, Tries } from './tries.js';

/** Downloads and stores item `index` (of `photo`, when the catalog chose one): see transferItem. */
export async function fetchItem(
  index: number,
  photo: PhotoChoice | undefined,
  context: ItemContext,
): Promise<{ outcome: Promise<ItemOutcome> }> {
  const { config, request, stop, deadline, deps } = context;
  const tries = new Tries(index, context);
  // Without the catalog or a seed, picsum's random route would give another run of the batch (a
  // retry) another photo, and so another key beside the first: the batch id seeds it instead. (A
  // photo the catalog chose is asked for by its id, whatever the seed.)
  const seeded = request.seed === undefined ? { ...request, seed: context.batchId } : request;
  const url = imageUrl(config.picsumBaseUrl, seeded, index, photo?.id);
  const credit = creditOf(photo);
  const item = { batchId: context.batchId, index, count: request.count, format: request.format, credit };

  // The upload slot is taken once the headers are in and before the body is read: a body waits in
  // the socket, not in memory, while every upload slot is busy. So at most `concurrency` bodies are
  // held at once, whatever their size. Small images come back read whole; large ones are stored
  // on the way (streamed into S3) and come back as their outcome.
  const download = async (signal: AbortSignal): Promise<DownloadedImage | ItemOutcome> => {
    const image = await openImage(url, config, deps, signal, request.format);
    // Stryker disable BlockStatement,CallExpression: equivalent — the stop that refused the slot also aborted this request, so undici lets the body go either way
    await context.uploads.acquire().catch((error: unknown) => {
      discard(image.body);
      throw error;
    });
    // Stryker restore BlockStatement,CallExpression
    if (shouldStream(image)) {
      try {
        return tries.stored({ ...(await streamThrough(deps.s3, config, image, item, deadline)), ...credit });
      } finally {
        context.uploads.release();
      }
    }
    try {
      const whole = await readWhole(image, item, config, context.buffers);
      tries.downloaded();
      return whole;
    } catch (error) {
      context.uploads.release();
      throw error;
    }
  };

  const downloaded = await tries.run(async () => {
    const attempt = attemptSignal(stop, config.attemptTimeoutMs);
    try {
      return await download(attempt.signal);
    } catch (error) {
      if (attempt.timedOut()) {
        const message = `The download took over SOURCE_ATTEMPT_TIMEOUT_MS (${config.attemptTimeoutMs} ms)`;
        throw new SourceError('source_timeout', message, { retryable: true, cause: error });
      }
      throw error;
    } finally {
      attempt.done();
    }
  });
  if ('outcome' in downloaded) return { outcome: Promise.resolve(downloaded.outcome) };
  const image = downloaded.value;
  if ('ok' in image) return { outcome: Promise.resolve(image) };

  // The download holds an upload slot from here on; the upload stage gives it back. Once the
  // body is whole, only the deadline stops its write: a cancelled run still stores (and records)
  // what it already holds, so nothing stored is missing from the manifest.
  const upload = async () => {
    try {
      const stored = await tries.run(() => putImage(deps.s3, config, image, deadline), {
        continues: true,
        signal: deadline,
      });
      return 'outcome' in stored ? stored.outcome : tries.stored({ ...stored.value, ...credit });
    } finally {
      image.release();
      context.uploads.release();
    }
  };
  return { outcome: upload() };
}
