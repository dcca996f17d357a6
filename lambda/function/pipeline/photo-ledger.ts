import type { FailureReason } from '../contracts/errors.js';

/** A photo stored in the batch: the item whose object holds it. */
export type StoredPhoto = { index: number; key: string; bytes: number; sha256: string };
/** A photo its first item could not store, and why. */
export type MissingPhoto = { index: number; reason: FailureReason };

type Claim =
  /** The first item of its photo here: it downloads the photo, and says how that went. */
  | { first: true; settle(outcome: StoredPhoto | MissingPhoto): void }
  /** A later item: it copies the stored object, or fails as the first did. */
  | { first: false; outcome: Promise<StoredPhoto | MissingPhoto> };

/**
 * The photos of a batch stored so far, by photo id (every item of a batch has the same size and
 * options, so the same id is the same image): one download per photo, however many items show it.
 */
export class PhotoLedger {
  private readonly photos = new Map<string, Promise<StoredPhoto | MissingPhoto>>();

  /** `stored`: photos stored before this run (the batch's earlier runs, or its other chunks). */
  constructor(stored: Iterable<readonly [string, StoredPhoto]> = []) {
    for (const [photo, where] of stored) this.photos.set(photo, Promise.resolve(where));
  }

  /**
   * The first claim of a photo downloads it; later ones wait for that and copy its object, or fail
   * as it did (fetching a photo picsum just refused again, once per item, would only repeat the
   * refusal; a retry of the batch tries it afresh).
   */
  claim(photo: string): Claim {
    const known = this.photos.get(photo);
    if (known) return { first: false, outcome: known };
    let settle: (outcome: StoredPhoto | MissingPhoto) => void = () => {};
    this.photos.set(
      photo,
      new Promise((resolve) => {
        settle = resolve;
      }),
    );
    return { first: true, settle: (outcome) => settle(outcome) };
  }
}
