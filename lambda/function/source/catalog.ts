import { request } from 'undici';
import * as z from 'zod/mini';
import { backoffMs, sleep } from '../contracts/backoff.js';
import type { Config } from '../contracts/config.js';
import { header, parseRetryAfter, RETRYABLE_STATUS, type SourcePool, toSourceError, USER_AGENT } from './picsum.js';
import { SourceError } from './source-error.js';

/** A photo of picsum's catalog, as `/v2/list` describes it: credit goes to `author`, its page is `url`. */
export type CatalogPhoto = { id: string; author: string; width: number; height: number; url: string };

/** picsum's catalog in id order, with lookup by id. */
export type Catalog = { photos: readonly CatalogPhoto[]; byId: ReadonlyMap<string, CatalogPhoto> };

/** picsum clamps `limit` to 100: about 11 pages today. A page listing more than asked for is refused. */
const PAGE_LIMIT = 100;
/**
 * The most photos a catalog may list: ten times picsum's ~1,000. Past that, a source that never
 * stops listing is refused, so a hostile catalog costs at most this many entries of memory.
 */
export const MAX_CATALOG_PHOTOS = 10_000;
const MAX_PAGES = MAX_CATALOG_PHOTOS / PAGE_LIMIT;
/** Pages asked for at once: today's whole catalog (11 pages) in one round trip, and a few past its end. */
const PAGES_AT_ONCE = 16;
/** One page of 100 entries is about 20 KB; a larger body is not a catalog page. */
const MAX_PAGE_BYTES = 1024 * 1024;

const photoId = z.string().check(z.regex(/^\d{1,10}$/));
const credit = {
  author: z.string().check(z.maxLength(200)),
  width: z.number().check(z.int(), z.minimum(1)),
  height: z.number().check(z.int(), z.minimum(1)),
  url: z.string().check(z.maxLength(500)),
};
/** picsum lists ids as strings; a number is taken too. */
const entry = z.object({ id: z.union([photoId, z.number().check(z.int(), z.minimum(0))]), ...credit });
const page = z.array(entry).check(z.maxLength(PAGE_LIMIT));
/**
 * A kept catalog holds ids as this project wrote them, strings: checked without the union, which
 * is the dearest part of the check on a cold start.
 */
const whole = z.array(z.object({ id: photoId, ...credit })).check(z.minLength(1), z.maxLength(MAX_CATALOG_PHOTOS));

/** Control characters (C0, DEL, C1): never part of a name or an address, and never passed on to a page or a header. */
const CONTROL = /\p{Cc}/gu;

/** A listed photo as this project keeps it: its id as a string, its credit without control characters. */
const asPhoto = (photo: z.infer<typeof entry>): CatalogPhoto => ({
  ...photo,
  id: String(photo.id),
  author: photo.author.replace(CONTROL, ''),
  url: photo.url.replace(CONTROL, ''),
});

/** A catalog as kept (catalog.json), checked as a page is: its photos, or undefined when it is not one. */
export function parseCatalogPhotos(value: unknown): CatalogPhoto[] | undefined {
  const parsed = whole.safeParse(value);
  return parsed.success ? parsed.data.map(asPhoto) : undefined;
}

async function readPage(url: URL, source: SourcePool, signal: AbortSignal): Promise<CatalogPhoto[]> {
  const dispatcher = source.dispatcher();
  const response = await request(url, {
    dispatcher,
    signal,
    headers: { 'user-agent': USER_AGENT, accept: 'application/json', 'accept-encoding': 'identity' },
  }).catch((error: unknown) => {
    throw toSourceError(error);
  });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new SourceError('source_status', `HTTP ${response.statusCode} from ${url.host} for the catalog`, {
      retryable: RETRYABLE_STATUS.has(response.statusCode),
      retryAfterMs: parseRetryAfter(header(response.headers, 'retry-after')),
    });
  }
  let bytes = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_PAGE_BYTES) {
      response.body.destroy();
      throw new SourceError('too_large', `A catalog page from ${url.host} is over ${MAX_PAGE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new SourceError('not_image', `A catalog page from ${url.host} is not JSON`);
  }
  const parsed = page.safeParse(json);
  if (!parsed.success) {
    const what =
      Array.isArray(json) && json.length > PAGE_LIMIT
        ? `${json.length} entries, over the ${PAGE_LIMIT} asked for`
        : 'not a list of photos';
    throw new SourceError('not_image', `A catalog page from ${url.host} is ${what}`);
  }
  return parsed.data.map(asPhoto);
}

/** A page, tried MAX_ATTEMPTS times on transient failures (429, 5xx, resets) with the items' backoff. */
async function readPageWithRetries(url: URL, config: Config, source: SourcePool, signal: AbortSignal) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readPage(url, source, signal);
    } catch (error) {
      if (!(error instanceof SourceError && error.retryable) || attempt >= config.maxAttempts) throw error;
      await sleep(Math.max(backoffMs(attempt, config), error.retryAfterMs ?? 0), signal);
    }
  }
}

/**
 * Reads picsum's whole catalog (`/v2/list`, 100 photos a page, until a page comes back short or
 * brings no photo not listed before), the first page, then PAGES_AT_ONCE pages at a time: picsum
 * does not say how many pages there are, and one after another they would cost a batch 11 round
 * trips before its first image. Throws a SourceError when a page cannot be read, or the catalog
 * runs past MAX_CATALOG_PHOTOS: the caller falls back.
 */
export async function readCatalog(config: Config, source: SourcePool, signal: AbortSignal): Promise<Catalog> {
  const byId = new Map<string, CatalogPhoto>();
  const basePath = config.picsumBaseUrl.pathname.replace(/\/+$/, '');
  const pageUrl = (number: number) => {
    const url = new URL(config.picsumBaseUrl);
    url.pathname = `${basePath}/v2/list`;
    url.search = `?page=${number}&limit=${PAGE_LIMIT}`;
    return url;
  };
  // Page 1 alone first: a source that cannot list its catalog is found out with one request
  // (and its retries), not sixteen.
  for (let first = 1; first <= MAX_PAGES && byId.size <= MAX_CATALOG_PHOTOS; first += first === 1 ? 1 : PAGES_AT_ONCE) {
    const numbers = Array.from({ length: first === 1 ? 1 : PAGES_AT_ONCE }, (_, offset) => first + offset);
    const pages = await Promise.all(numbers.map((n) => readPageWithRetries(pageUrl(n), config, source, signal)));
    for (const listed of pages) {
      const known = byId.size;
      for (const photo of listed) if (!byId.has(photo.id)) byId.set(photo.id, photo);
      if (byId.size > MAX_CATALOG_PHOTOS) break;
      // A short page is the last; a page of photos listed already is a source repeating itself.
      if (listed.length < PAGE_LIMIT || byId.size === known) {
        if (byId.size === 0)
          throw new SourceError('source_status', `The catalog at ${config.picsumBaseUrl.host} lists no photos`);
        return { photos: [...byId.values()], byId };
      }
    }
  }
  throw new SourceError(
    'too_large',
    `The catalog at ${config.picsumBaseUrl.host} lists over ${MAX_CATALOG_PHOTOS} photos`,
  );
}
