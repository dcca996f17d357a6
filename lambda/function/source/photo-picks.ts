import { createHash } from 'node:crypto';
import { RequestError } from '../contracts/errors.js';
import type { BatchRequest } from '../contracts/request.js';
import type { Catalog, CatalogPhoto } from './catalog.js';

/** The photo an item is: its id, and its credit when the catalog gave one. */
export type PhotoChoice = Pick<CatalogPhoto, 'id'> & Partial<Pick<CatalogPhoto, 'author' | 'url'>>;

/** A uint32 from `text`'s SHA-256: the same text, the same number, on every machine. */
const hash32 = (text: string): number => createHash('sha256').update(text).digest().readUInt32BE(0);

/**
 * Which photo of the catalog each item of a batch is, chosen here rather than by picsum's random
 * routes (which no cache can answer). With `key` the request's seed, or else the batch id (so that
 * every chunk and every retry of a batch agrees, and each new batch is a new draw):
 * - `ids`: item i is `ids[i]`;
 * - `distinct`: item i is position i of the catalog (in id order) shuffled by Fisher-Yates, the
 *   swap at step j taking position uint32(sha256("{key}:shuffle:{j}")) mod (j + 1);
 * - otherwise: item i is position uint32(sha256("{key}:{i}")) mod N of the catalog in id order.
 * (uint32: the digest's first four bytes, big-endian.) A seeded batch repeats as long as picsum's
 * catalog does.
 */
export function photoPicker(
  request: Pick<BatchRequest, 'seed' | 'distinct' | 'ids'>,
  catalog: Catalog,
  batchId: string,
): (index: number) => PhotoChoice | undefined {
  const key = request.seed ?? batchId;
  const { photos } = catalog;
  if (request.ids) {
    const ids = request.ids;
    return (index) => catalog.byId.get(ids[index] ?? '') ?? idOnly(ids[index]);
  }
  if (request.distinct) {
    const order = photos.map((_, position) => position);
    for (let j = order.length - 1; j > 0; j--) {
      const swap = hash32(`${key}:shuffle:${j}`) % (j + 1);
      [order[j], order[swap]] = [order[swap] as number, order[j] as number];
    }
    return (index) => photos[order[index] ?? -1];
  }
  return (index) => photos[hash32(`${key}:${index}`) % photos.length];
}

/** A photo named by id alone (`ids` when the catalog could not be read): fetched by id, without credit. */
export const idOnly = (id: string | undefined): PhotoChoice | undefined => (id === undefined ? undefined : { id });

/** Refuses, naming the field, a request the catalog cannot satisfy: too many distinct photos, or unknown ids. */
export function checkAgainstCatalog(request: BatchRequest, catalog: Catalog): void {
  if (request.distinct && !request.ids && request.count > catalog.photos.length) {
    throw new RequestError(
      `Expected \`count\` to be at most ${catalog.photos.length} with \`distinct\`: picsum's catalog has ${catalog.photos.length} photos, got ${request.count}`,
      { field: 'distinct', code: 'INVALID_FIELD' },
    );
  }
  const unknown = (request.ids ?? []).filter((id) => !catalog.byId.has(id));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 10).join(', ');
    throw new RequestError(
      `Expected \`ids\` to be photos of picsum's catalog (${catalog.photos.length} photos); it has no ${shown}${unknown.length > 10 ? ` (and ${unknown.length - 10} more)` : ''}`,
      { field: 'ids', code: 'INVALID_FIELD' },
    );
  }
}
