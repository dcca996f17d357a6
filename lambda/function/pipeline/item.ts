import type { ItemOutcome } from '../contracts/result.js';
import type { PhotoChoice } from '../source/photo-picks.js';
import { copyPhoto } from './copy-photo.js';
import { fetchItem } from './fetch-item.js';
import type { ItemContext } from './item-context.js';

/**
 * Item `index` in two stages. The download stage (this function) holds one of the batch's
 * `concurrency` slots; small images are read whole and handed to the upload stage, which runs on
 * after this returns, so the next download starts while this one is written. Large images stream
 * from source to S3 within the download stage. Retries cover 429, 5xx, resets, timeouts, cut
 * bodies and S3 errors. An item whose photo an earlier item of the batch fetches (the ledger says)
 * downloads nothing: it hands back at once and copies that item's object once it is stored.
 * Never rejects: `outcome` settles with how the item ended.
 */
export async function transferItem(index: number, context: ItemContext): Promise<{ outcome: Promise<ItemOutcome> }> {
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
