import type { Config } from '../contracts/config.js';
import { messageOf } from '../contracts/errors.js';
import type { BatchRequest } from '../contracts/request.js';
import type { CatalogUse } from '../contracts/result.js';
import type { Deps } from '../pipeline/item-context.js';
import { type Catalog, type CatalogPhoto, parseCatalogPhotos, readCatalog } from '../source/catalog.js';
import { checkAgainstCatalog, idOnly, type PhotoChoice, photoPicker } from '../source/photo-picks.js';
import { catalogKey } from '../storage/keys.js';
import { getJson, putText } from '../storage/objects.js';

/** The photo each item is, and how that was decided. */
export type PhotoPlan = { pick?: (index: number) => PhotoChoice | undefined; catalog: CatalogUse };

/**
 * picsum adds a photo now and then; a catalog read a few minutes ago is as good as a new one, and a
 * warm function (or the API checking a request, then running it) need not read 11 pages again.
 */
const CATALOG_TTL_MS = 10 * 60_000;
/** Reading the whole catalog must not hold a batch up for long: past this, its items use picsum's routes. */
const CATALOG_READ_MS = 10_000;

/**
 * The catalog as last read, kept in the bucket for a day: a cold start (a scheduled run, a chunk)
 * reads one object from S3 instead of picsum's 11 pages, two round trips to picsum before its first
 * image (see docs/performance.md), and picsum's API is asked once a day rather than once per cold start.
 */
const KEPT_TTL_MS = 24 * 60 * 60_000;
/** A kept catalog larger than this is not read (MAX_CATALOG_PHOTOS of today's entries is about 1.5 MB). */
export const MAX_KEPT_CATALOG_BYTES = 4 * 1024 * 1024;
type KeptCatalog = { base: string; readAt: string; photos: unknown };

/** A source whose catalog could not be read is not asked again for this long: one bad source, one read. */
const FAILED_READ_TTL_MS = 60_000;

let cached: { base: string; at: number; ttlMs: number; catalog: Promise<Catalog> } | undefined;

const asCatalog = (photos: readonly CatalogPhoto[]): Catalog => ({
  photos,
  byId: new Map(photos.map((photo) => [photo.id, photo])),
});

/** The catalog kept in the bucket when it is this source's and fresh, else read from the source and kept. */
async function keptOrRead(config: Config, deps: Pick<Deps, 'source' | 's3'>, readMs: number): Promise<Catalog> {
  const base = config.picsumBaseUrl.href;
  const key = catalogKey(config);
  // A kept catalog is checked as a page from the source is: whatever the bucket holds, no larger
  // than MAX_KEPT_CATALOG_BYTES, and photos in the catalog's shape.
  const kept = await getJson<KeptCatalog>(deps.s3, config, key, { maxBytes: MAX_KEPT_CATALOG_BYTES }).catch(
    () => undefined,
  );
  const keptPhotos =
    kept?.base === base && Date.now() - Date.parse(kept.readAt) < KEPT_TTL_MS
      ? parseCatalogPhotos(kept.photos)
      : undefined;
  if (keptPhotos) return asCatalog(keptPhotos);
  const catalog = await readCatalog(config, deps.source, AbortSignal.timeout(readMs));
  const keep: KeptCatalog = { base, readAt: new Date().toISOString(), photos: [...catalog.photos] };
  // Kept for the next cold start (one PUT a day, awaited: no write outlives the batch that made it);
  // a batch never fails for keeping it, and a catalog too large to be read back is not kept.
  const text = JSON.stringify(keep);
  if (Buffer.byteLength(text) <= MAX_KEPT_CATALOG_BYTES) {
    await putText(deps.s3, config, key, text, 'application/json').catch(() => {});
  }
  return catalog;
}

/**
 * picsum's catalog: from this process's memory (CATALOG_TTL_MS), else the copy kept in the bucket
 * (a day), else the source itself. A failed read is remembered for FAILED_READ_TTL_MS: the
 * batches in that time fall back at once.
 */
export function catalogFor(
  config: Config,
  deps: Pick<Deps, 'source' | 's3'>,
  readMs = CATALOG_READ_MS,
): Promise<Catalog> {
  const base = config.picsumBaseUrl.href;
  if (cached && cached.base === base && Date.now() - cached.at < cached.ttlMs) return cached.catalog;
  const entry = { base, at: Date.now(), ttlMs: CATALOG_TTL_MS, catalog: keptOrRead(config, deps, readMs) };
  cached = entry;
  entry.catalog.catch(() => {
    entry.at = Date.now();
    entry.ttlMs = FAILED_READ_TTL_MS;
  });
  return entry.catalog;
}

/** Forgets the cached catalog (tests that change the source under a running process). */
export const forgetCatalog = (): void => {
  cached = undefined;
};

/**
 * The photos of a batch: chosen from picsum's catalog when it can be read (a request it cannot
 * satisfy, too many `distinct` or unknown `ids`, is refused with a RequestError), else picsum's own
 * routes (`ids` by id; `distinct` then cannot be promised), and the result says why.
 */
export async function planPhotos(
  request: BatchRequest,
  batchId: string,
  options: { config: Config; deps: Pick<Deps, 'source' | 's3'>; deadlineAt?: number },
): Promise<PhotoPlan> {
  const catalog = await catalogOrWhy(options);
  if ('unavailable' in catalog) {
    // Photos named by id are still fetched by id; the others are left to picsum's own routes.
    const { ids } = request;
    return ids ? { pick: (index) => idOnly(ids[index]), catalog } : { catalog };
  }
  checkAgainstCatalog(request, catalog);
  return { pick: photoPicker(request, catalog, batchId), catalog: { photos: catalog.photos.length } };
}

/** The catalog, or why it was not read: it is off, the batch's deadline came, or reading it failed. */
async function catalogOrWhy(options: {
  config: Config;
  deps: Pick<Deps, 'source' | 's3'>;
  deadlineAt?: number;
}): Promise<Catalog | { unavailable: string }> {
  // Within the batch's deadline: a batch out of time reads nothing.
  const readMs = Math.min(CATALOG_READ_MS, (options.deadlineAt ?? Number.POSITIVE_INFINITY) - Date.now());
  if (!options.config.catalog) return { unavailable: 'PICSUM_CATALOG is off' };
  if (readMs <= 0) return { unavailable: 'The batch deadline came before the catalog was read' };
  try {
    return await catalogFor(options.config, options.deps, readMs);
  } catch (error) {
    return { unavailable: messageOf(error).slice(0, 300) };
  }
}

/**
 * Refuses, before anything starts, a request the catalog cannot satisfy (too many `distinct`,
 * unknown `ids`). A catalog that cannot be read refuses nothing: the batch falls back and says so.
 */
export async function checkRequestPhotos(
  request: BatchRequest,
  options: { config: Config; deps: Pick<Deps, 'source' | 's3'> },
): Promise<void> {
  if ((!request.distinct && !request.ids) || !options.config.catalog) return;
  let catalog: Catalog;
  try {
    catalog = await catalogFor(options.config, options.deps);
  } catch {
    return;
  }
  checkAgainstCatalog(request, catalog);
}
