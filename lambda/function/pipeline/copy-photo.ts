import type { ItemOutcome, PhotoCredit } from '../contracts/result.js';
import type { PhotoChoice } from '../source/photo-picks.js';
import { CONTENT_TYPES, imageUrl } from '../source/picsum.js';
import { copyImage } from '../storage/images.js';
import type { ItemContext } from './item-context.js';
import type { MissingPhoto, StoredPhoto } from './photo-ledger.js';
import { Tries } from './tries.js';

/** The catalog's credit for a photo, as an item and its object carry it. */
export const creditOf = (photo: PhotoChoice | undefined): PhotoCredit => ({
  ...(photo?.author === undefined ? {} : { author: photo.author }),
  ...(photo?.url === undefined ? {} : { page: photo.url }),
});

/**
 * A later item of a photo the batch already fetched: a server-side copy of that item's object once
 * it is stored (in an upload slot, never a download one), or the first item's failure.
 */
export async function copyPhoto(
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
        return copyImage(deps.s3, config, from.key, image, deadline);
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
