import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CATALOG, type CatalogPhoto, catalogPhoto } from './catalog.js';
import { imageFor } from './images.js';

/** Something going wrong on one request, for tests and benchmarks. */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'reset' }
  | { kind: 'truncate' }
  | { kind: 'hang' }
  | { kind: 'html' }
  | { kind: 'redirect'; location: string }
  | { kind: 'chunked' };

/**
 * What a fault plan sees of each request. `index` is the `i` of `/seed/{seed}-{i}/...`, else -1;
 * `photo` the photo id the request is for (named in the path, or chosen for a random or seeded one),
 * once known.
 */
export type RequestInfo = {
  hop: 'base' | 'image';
  path: string;
  index: number;
  photo?: string;
  attempt: number;
  at: number;
};

export type OfflinePicsumOptions = {
  /** Delay before answering, on each hop (the redirect and the image). */
  latencyMs?: number;
  /** Pad every image to this many bytes. */
  imageBytes?: number;
  /** Chooses a fault for a request, or none. */
  faults?: (request: RequestInfo) => Fault | undefined;
  port?: number;
};

export type OfflinePicsum = {
  /** Use as PICSUM_BASE_URL. */
  baseUrl: string;
  /** host:port the base redirects to; use as PICSUM_REDIRECT_HOSTS. */
  imageHost: string;
  /** Every request seen, in order. */
  requests: RequestInfo[];
  /** TCP connections accepted so far, per hop. */
  connections(): { base: number; image: number };
  /**
   * Renders every photo of the catalog at this size now (JPEG, no options), so that a benchmark's
   * requests do not pay for drawing pictures: picsum's CDN serves them from its cache.
   */
  prerender(width: number, height: number): Promise<number>;
  close(): Promise<void>;
};

/** picsum's image routes: an optional `/id/{id}` or `/seed/{seed}`, a size or width and height, any extension. */
const IMAGE_ROUTE = /^\/(?:(id|seed)\/([^/]+)\/)?(\d+)(?:\/(\d+))?(\.[^/]*)?$/;
const INFO_ROUTE = /^\/(id|seed)\/([^/]+)\/info$/;
/** The image host's one route, as the redirect writes it. */
const CDN_ROUTE = /^\/id\/([^/]+)\/(\d+)\/(\d+)(\.jpg|\.webp)$/;
const MAX_SIZE = 5000;
const NO_STORE = 'private, no-cache, no-store, must-revalidate';

/** An error answered as picsum answers one: plain text, or `{"error"}` to `Accept: application/json`. */
class PicsumError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A seed from the path, decoded; malformed percent-encoding is a 400, as any bad request is. */
function decodedSeed(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new PicsumError(400, 'Invalid seed: malformed percent-encoding');
  }
}

function answerError(req: IncomingMessage, res: ServerResponse, error: PicsumError) {
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
function seededPhoto(seed: string): CatalogPhoto {
  let hash = 2166136261;
  for (const char of seed) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return CATALOG[hash % CATALOG.length] as CatalogPhoto;
}

/** picsum's query: `?grayscale` present, `?blur` alone 5, `?blur=N` N (1..10, else 400). */
function imageOptions(url: URL): { grayscale: boolean; blur: number | undefined } {
  const grayscale = url.searchParams.has('grayscale');
  if (!url.searchParams.has('blur')) return { grayscale, blur: undefined };
  const amount = Number.parseInt(url.searchParams.get('blur') ?? '', 10);
  const blur = Number.isNaN(amount) ? 5 : amount;
  if (blur < 1 || blur > 10) throw new PicsumError(400, 'Invalid blur amount');
  return { grayscale, blur };
}

/** `?blur=N&grayscale`: keys sorted, a key without a value written bare, as picsum's BuildQuery does. */
function buildQuery(values: Record<string, string>): string {
  const keys = Object.keys(values).sort();
  const parts = keys.map((key) =>
    values[key] ? `${encodeURIComponent(key)}=${encodeURIComponent(values[key] as string)}` : encodeURIComponent(key),
  );
  return parts.length ? `?${parts.join('&')}` : '';
}

async function listen(server: Server, port: number): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A picsum.photos stand-in on loopback, shaped after DMarby/picsum-photos: a catalog of about a
 * thousand photos (`/v2/list`, `/id/{id}/info`, `/seed/{seed}/info`), and image routes (`/{size}`,
 * `/{w}/{h}`, `/id/{id}/...`, `/seed/{seed}/...`, `.jpg`/`.webp`, `?grayscale`, `?blur[=N]`) that
 * answer 302 (no-store) to a second host (another port) at `/id/{id}/{w}/{h}.{ext}?{sorted query}&hmac=...`,
 * which serves a real JPEG or WebP of the photo's picture with picsum's headers. Errors as picsum's:
 * 400 `Invalid size` (over 5000), `Invalid blur amount`, `Invalid file extension`; 404 `Image does
 * not exist`; plain text unless `Accept: application/json`. Latency and faults are injectable.
 */
export async function startOfflinePicsum(options: OfflinePicsumOptions = {}): Promise<OfflinePicsum> {
  const requests: RequestInfo[] = [];
  const attempts = new Map<string, number>();
  let randomPicks = 0;
  // The image host checks that a URL is one the API redirected to, as picsum's does.
  const hmacKey = randomBytes(32);
  const sign = (path: string, query: Record<string, string>) =>
    createHmac('sha256', hmacKey)
      .update(`${path}${buildQuery(query)}`)
      .digest('base64url');
  let root = '';
  const listed = (photo: CatalogPhoto) => ({
    ...photo,
    download_url: `${root}/id/${photo.id}/${photo.width}/${photo.height}`,
  });
  /** `/v2/list?page=P&limit=L`: L from 1 to 100 (default 30), with picsum's `Link` header. */
  function list(url: URL, res: ServerResponse) {
    const asked = Number.parseInt(url.searchParams.get('limit') ?? '', 10);
    const limit = Number.isNaN(asked) || asked < 1 ? 30 : Math.min(asked, 100);
    const pageAsked = Number.parseInt(url.searchParams.get('page') ?? '', 10);
    const page = Number.isNaN(pageAsked) || pageAsked < 1 ? 1 : pageAsked;
    const photos = CATALOG.slice(limit * (page - 1), limit * page).map(listed);
    const at = (n: number) => `<${root}/v2/list?page=${n}&limit=${limit}>`;
    const link =
      page === 1
        ? `${at(2)}; rel="next"`
        : photos.length < limit
          ? `${at(page - 1)}; rel="prev"`
          : `${at(page - 1)}; rel="prev", ${at(page + 1)}; rel="next"`;
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': NO_STORE,
      'access-control-expose-headers': 'Link',
      link,
    });
    res.end(`${JSON.stringify(photos)}\n`);
  }

  function record(hop: RequestInfo['hop'], req: IncomingMessage): RequestInfo {
    const path = req.url ?? '/';
    const attemptKey = `${hop}:${path}`;
    const attempt = (attempts.get(attemptKey) ?? 0) + 1;
    attempts.set(attemptKey, attempt);
    const seedIndex = /\/seed\/[^/]*-(\d+)\//.exec(path)?.[1];
    const photo = /^\/id\/([^/]+)\//.exec(path)?.[1];
    const info: RequestInfo = {
      hop,
      path,
      index: seedIndex === undefined ? -1 : Number(seedIndex),
      ...(photo === undefined ? {} : { photo }),
      attempt,
      at: Date.now(),
    };
    requests.push(info);
    return info;
  }

  /** Answers a fault; true when it did. */
  function applyFault(fault: Fault | undefined, res: ServerResponse): boolean {
    if (!fault) return false;
    switch (fault.kind) {
      case 'status':
        res.writeHead(fault.status, {
          'content-type': 'text/plain',
          ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}),
        });
        res.end(`injected ${fault.status}`);
        return true;
      case 'reset':
        res.socket?.destroy();
        return true;
      case 'hang':
        return true;
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<html><body>Not an image</body></html>');
        return true;
      case 'redirect':
        res.writeHead(302, { location: fault.location });
        res.end();
        return true;
      default:
        return false;
    }
  }

  const imageServer = createServer(async (req, res) => {
    const info = record('image', req);
    if (options.latencyMs) await sleep(options.latencyMs);
    const fault = options.faults?.(info);
    if (applyFault(fault, res)) return;
    const url = new URL(req.url ?? '/', 'http://image');
    const match = CDN_ROUTE.exec(url.pathname);
    let spec: Parameters<typeof imageFor>[0];
    try {
      if (!match || req.method !== 'GET') throw new PicsumError(404, 'page not found');
      const unsigned = new URLSearchParams(url.search);
      unsigned.delete('hmac');
      if (url.searchParams.get('hmac') !== sign(url.pathname, Object.fromEntries(unsigned))) {
        throw new PicsumError(400, 'Invalid parameters');
      }
      const [, id = '', width, height, extension] = match;
      if (!catalogPhoto(id)) throw new PicsumError(404, 'Image does not exist');
      const format: 'jpg' | 'webp' = extension === '.webp' ? 'webp' : 'jpg';
      spec = { id: Number(id), width: Number(width), height: Number(height), format, ...imageOptions(url) };
    } catch (error) {
      if (!(error instanceof PicsumError)) throw error;
      answerError(req, res, error);
      return;
    }
    const { format } = spec;
    const body = await imageFor(spec, options.imageBytes);
    const filename = `${spec.id}-${spec.width}x${spec.height}${spec.blur === undefined ? '' : `-blur_${spec.blur}`}${spec.grayscale ? '-grayscale' : ''}.${format}`;
    const headers = {
      'content-type': format === 'webp' ? 'image/webp' : 'image/jpeg',
      'content-disposition': `inline; filename="${filename}"`,
      'cache-control': 'public, max-age=2592000, stale-while-revalidate=60, stale-if-error=43200, immutable',
      'picsum-id': String(spec.id),
      'timing-allow-origin': '*',
    };
    if (fault?.kind === 'chunked') {
      res.writeHead(200, headers);
      for (let offset = 0; offset < body.length; offset += 16_384) res.write(body.subarray(offset, offset + 16_384));
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': body.length });
    if (fault?.kind === 'truncate') {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  });
  const imagePort = await listen(imageServer, 0);
  const imageHost = `127.0.0.1:${imagePort}`;

  const baseServer = createServer(async (req, res) => {
    const requestInfo = record('base', req);
    if (options.latencyMs) await sleep(options.latencyMs);
    if (applyFault(options.faults?.(requestInfo), res)) return;
    try {
      if (req.method !== 'GET') throw new PicsumError(405, 'Method not allowed');
      const url = new URL(req.url ?? '/', 'http://base');
      if (url.pathname === '/v2/list') {
        list(url, res);
        return;
      }
      const info = INFO_ROUTE.exec(url.pathname);
      if (info) {
        const [, kind, key = ''] = info;
        const photo = kind === 'id' ? catalogPhoto(key) : seededPhoto(decodedSeed(key));
        if (!photo) throw new PicsumError(404, 'Image does not exist');
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': NO_STORE });
        res.end(`${JSON.stringify(listed(photo))}\n`);
        return;
      }
      const match = IMAGE_ROUTE.exec(url.pathname);
      if (!match) throw new PicsumError(404, 'page not found');
      const [, kind, key = '', first = '', second, rawExtension = ''] = match;
      const extension = rawExtension.toLowerCase() || '.jpg';
      if (extension !== '.jpg' && extension !== '.webp') throw new PicsumError(400, 'Invalid file extension');
      let photo: CatalogPhoto | undefined;
      if (kind === 'id') photo = catalogPhoto(key);
      else if (kind === 'seed') photo = seededPhoto(decodedSeed(key));
      else photo = CATALOG[(randomPicks++ * 7919) % CATALOG.length];
      if (!photo) throw new PicsumError(404, 'Image does not exist');
      if (requestInfo.photo === undefined) requestInfo.photo = photo.id;
      const { grayscale, blur } = imageOptions(url);
      const width = Number(first) || photo.width;
      const height = Number(second ?? first) || photo.height;
      if (width > MAX_SIZE || height > MAX_SIZE) throw new PicsumError(400, 'Invalid size');
      const path = `/id/${photo.id}/${width}/${height}${extension}`;
      const query: Record<string, string> = {
        ...(blur === undefined ? {} : { blur: String(blur) }),
        ...(grayscale ? { grayscale: '' } : {}),
      };
      const location = `http://${imageHost}${path}${buildQuery({ ...query, hmac: sign(path, query) })}`;
      res.writeHead(302, { location, 'cache-control': NO_STORE });
      res.end();
    } catch (error) {
      if (!(error instanceof PicsumError)) throw error;
      answerError(req, res, error);
    }
  });
  const basePort = await listen(baseServer, options.port ?? 0);
  root = `http://127.0.0.1:${basePort}`;

  const accepted = { base: 0, image: 0 };
  baseServer.on('connection', () => accepted.base++);
  imageServer.on('connection', () => accepted.image++);

  return {
    baseUrl: `http://127.0.0.1:${basePort}`,
    imageHost,
    requests,
    connections: () => ({ ...accepted }),
    async prerender(width, height) {
      for (const photo of CATALOG) {
        await imageFor({ id: Number(photo.id), width, height, format: 'jpg', grayscale: false });
      }
      return CATALOG.length;
    },
    async close() {
      for (const server of [baseServer, imageServer]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}
