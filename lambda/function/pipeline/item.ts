// One item of a batch: downloaded and stored, or copied from an earlier item of the same photo.
import type { ItemOutcome, PhotoCredit } from '../contracts/result.js';
import type { PhotoChoice } from '../source/photo-picks.js';
import { CONTENT_TYPES, discard, imageUrl, openImage } from '../source/picsum.js';
import { SourceError } from '../source/source-error.js';
import { copyImage, putImage } from '../storage/images.js';
import type { ItemContext } from './item-context.js';
import type { MissingPhoto, StoredPhoto } from './photo-ledger.js';
import { type DownloadedImage, readWhole, shouldStream, streamThrough } from './transfer.js';
import { attemptSignal, Tries } from './tries.js';

/**
 * Item `index` in two stages. The download stage (this function) holds one of the batch's
 * `concurrency` slots; small images are read whole and handed to the upload stage, which runs on
 * after this returns, so the next download starts while this one is written. Large images stream
 * from source to S3 within the download stage. Retries cover 429, 5xx, resets, timeouts, cut
 * bodies and S3 errors. An item whose photo an earlier item of the batch fetches (the ledger says)
 * downloads nothing: it hands back at once and copies that item's object once it is stored.
 * Never rejects: `outcome` settles with how the item ended.
 */
export async function runItem(index: number, context: ItemContext): Promise<{ outcome: Promise<ItemOutcome> }> {
  const photo = context.photos?.(index);
  const claim = photo && context.ledger ? context.ledger.claim(photo.id) : undefined;
  if (claim && !claim.first) return { outcome: copyPhoto(index, photo as PhotoChoice, claim.outcome, context) };
  const fetched = await fetchItem(index, photo, context);
  if (claim?.first) {
    void fetched.outcome.then((outcome) =>
      claim.settle(
        outcome.ok
          ? { index, key: outcome.key, bytes: outcome.bytes, sha256: outcome.sha256 }
          : { index, reason: outcome.reason },
      ),
    );
  }
  return fetched;
}

/** Downloads and stores item `index` (of `photo`, when the catalog chose one): see runItem. */
async function fetchItem(
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
        return tries.stored({ ...(await streamThrough(deps.transfer, config, image, item, deadline)), ...credit });
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
      const stored = await tries.run(() => putImage(deps.transfer, config, image, deadline), {
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

/** The catalog's credit for a photo, as an item and its object carry it. */
const creditOf = (photo: PhotoChoice | undefined): PhotoCredit => ({
  ...(photo?.author === undefined ? {} : { author: photo.author }),
  ...(photo?.url === undefined ? {} : { page: photo.url }),
});

/**
 * A later item of a photo the batch already fetched: a server-side copy of that item's object once
 * it is stored (in an upload slot, never a download one), or the first item's failure.
 */
async function copyPhoto(
  index: number,
  photo: PhotoChoice,
  first: Promise<StoredPhoto | MissingPhoto>,
  context: ItemContext,
): Promise<ItemOutcome> {
  const { config, request, deps, deadline } = context;
  const tries = new Tries(index, context);
  const from = await first;
  if (!('key' in from)) {
    return tries.fail(
      from.reason,
      `Photo ${photo.id} was not stored: item ${from.index} of it failed (${from.reason})`,
    );
  }
  const credit = creditOf(photo);
  const image = {
    batchId: context.batchId,
    index,
    count: request.count,
    format: request.format,
    picsumId: photo.id,
    contentType: CONTENT_TYPES[request.format],
    sourceUrl: imageUrl(config.picsumBaseUrl, request, index, photo.id).href,
    credit,
  };
  try {
    // Refused, taking no slot, once the run has stopped.
    await context.uploads.acquire();
  } catch {
    return tries.stopped();
  }
  try {
    const copied = await tries.run(
      () => {
        // Nothing to download: the photo's bytes are already in the bucket.
        tries.downloaded();
        return copyImage(deps.transfer, config, from.key, image, deadline);
      },
      // Stryker disable next-line ObjectLiteral: equivalent — Tries starts no wait that would end past the deadline, and copyImage is aborted by it itself
      { signal: deadline },
    );
    if ('outcome' in copied) return copied.outcome;
    return tries.stored({ key: copied.value, bytes: from.bytes, sha256: from.sha256, copyOf: from.index, ...credit });
  } finally {
    context.uploads.release();
  }
}
