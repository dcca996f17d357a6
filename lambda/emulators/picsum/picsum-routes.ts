// picsum.photos' routes, query and errors, as DMarby/picsum-photos answers them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CATALOG, type CatalogPhoto } from './catalog.js';

/** picsum's image routes: an optional `/id/{id}` or `/seed/{seed}`, a size or width and height, any extension. */
export const IMAGE_ROUTE = /^\/(?:(id|seed)\/([^/]+)\/)?(\d+)(?:\/(\d+))?(\.[^/]*)?$/;
export const INFO_ROUTE = /^\/(id|seed)\/([^/]+)\/info$/;
/** The image host's one route, as the redirect writes it. */
export const CDN_ROUTE = /^\/id\/([^/]+)\/(\d+)\/(\d+)(\.jpg|\.webp)$/;
export const MAX_SIZE = 5000;
export const NO_STORE = 'private, no-cache, no-store, must-revalidate';

/** An error answered as picsum answers one: plain text, or `{"error"}` to `Accept: application/json`. */
export class PicsumError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A seed from the path, decoded; malformed percent-encoding is a 400, as any bad request is. */
export function decodedSeed(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new PicsumError(400, 'Invalid seed: malformed percent-encoding');
  }
}

export function answerError(req: IncomingMessage, res: ServerResponse, error: PicsumError) {
  if (req.headers.accept === 'application/json') {
    res.writeHead(error.status, { 'content-type': 'application/json', 'cache-control': NO_STORE });
    res.end(`${JSON.stringify({ error: error.message })}\n`);
    return;
  }
  res.writeHead(error.status, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'cache-control': NO_STORE,
  });
  res.end(`${error.message}\n`);
}

/** A string hashed to a catalog position: the same seed, the same photo. */
export function seededPhoto(seed: string): CatalogPhoto {
  let hash = 2166136261;
  for (const char of seed) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return CATALOG[hash % CATALOG.length] as CatalogPhoto;
}

/** picsum's query: `?grayscale` present, `?blur` alone 5, `?blur=N` N (1..10, else 400). */
export function imageOptions(url: URL): { grayscale: boolean; blur: number | undefined } {
  const grayscale = url.searchParams.has('grayscale');
  if (!url.searchParams.has('blur')) return { grayscale, blur: undefined };
  const amount = Number.parseInt(url.searchParams.get('blur') ?? '', 10);
  const blur = Number.isNaN(amount) ? 5 : amount;
  if (blur < 1 || blur > 10) throw new PicsumError(400, 'Invalid blur amount');
  return { grayscale, blur };
}

/** `?blur=N&grayscale`: keys sorted, a key without a value written bare, as picsum's BuildQuery does. */
export function buildQuery(values: Record<string, string>): string {
  const keys = Object.keys(values).sort();
  const parts = keys.map((key) =>
    values[key] ? `${encodeURIComponent(key)}=${encodeURIComponent(values[key] as string)}` : encodeURIComponent(key),
  );
  return parts.length ? `?${parts.join('&')}` : '';
}
