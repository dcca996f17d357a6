import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, request } from 'undici';
import type { Config } from '../contracts/config.js';
import type { BatchRequest } from '../contracts/request.js';
import { SourceError } from './source-error.js';

/** picsum answers every image request with a 302 to its CDN; allow that and one more hop. */
export const MAX_REDIRECTS = 2;

export const USER_AGENT = 'picsum-batch/0.1 (+https://github.com/picsum-batch)';

/**
 * The picsum URL of item `index`: `/id/{photo}/{w}/{h}` for a photo chosen from the catalog, else
 * picsum's own choice (`/{w}/{h}`, or `/seed/{seed}-{index}/{w}/{h}`); then `.webp`, `?grayscale&blur=N`.
 */
export function imageUrl(base: URL, request: BatchRequest, index: number, photoId?: string): URL {
  const seedPath =
    photoId !== undefined ? `/id/${photoId}` : request.seed === undefined ? '' : `/seed/${request.seed}-${index}`;
  const extension = request.format === 'webp' ? '.webp' : '';
  const query = [request.grayscale ? 'grayscale' : '', request.blur === undefined ? '' : `blur=${request.blur}`]
    .filter(Boolean)
    .join('&');
  const basePath = base.pathname.replace(/\/+$/, '');
  const url = new URL(base);
  url.pathname = `${basePath}${seedPath}/${request.width}/${request.height}${extension}`;
  url.search = query ? `?${query}` : '';
  return url;
}

/** The image source's connection pool, made on the first request. */
export type SourcePool = { dispatcher(): Dispatcher; close(): Promise<void> };

/**
 * The one keep-alive connection pool for the image source. `connections` caps sockets per origin
 * at MAX_CONCURRENCY; p-map keeps a batch to its own concurrency, so a batch opens at most that many.
 */
export function createSourcePool(config: Config): SourcePool {
  let agent: Agent | undefined;
  return {
    dispatcher() {
      agent ??= new Agent({
        connections: config.maxConcurrency,
        keepAliveTimeout: 10_000,
        headersTimeout: config.headersTimeoutMs,
        bodyTimeout: config.bodyTimeoutMs,
        // Stryker disable next-line ObjectLiteral: untestable on loopback, where every connect answers at once
        connect: { timeout: config.connectTimeoutMs },
      });
      return agent;
    },
    async close() {
      await agent?.close();
    },
  };
}

/** A 200 image response whose body the caller must consume or destroy. */
export type OpenedImage = {
  body: Readable;
  contentType: string;
  /** From Content-Length; undefined when the source streams without one. */
  contentLength: number | undefined;
  picsumId: string;
  /** The URL we asked for (before redirects). */
  sourceUrl: string;
};

/** A response header's (first) value. */
export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A string the source chose, as a message shows it: quoted, and 100 characters at most. */
export const quoted = (text: string, max = 100): string =>
  JSON.stringify(text.length > max ? `${text.slice(0, max)}...` : text);

/** The one Content-Type each format is stored with, whatever parameters the source added. */
export const CONTENT_TYPES = { jpg: 'image/jpeg', webp: 'image/webp' } as const;

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function allowedHosts(config: Config): Set<string> {
  return new Set([config.picsumBaseUrl.host.toLowerCase(), ...config.redirectHosts]);
}

/** Refuses a redirect that leaves the allowed hosts or steps down from https to http. */
export function checkRedirect(from: URL, to: URL, config: Config): void {
  if (to.protocol !== 'https:' && to.protocol !== 'http:') {
    throw new SourceError('redirect_refused', `Refused redirect to ${quoted(to.protocol)} URL ${quoted(to.href)}`);
  }
  if (from.protocol === 'https:' && to.protocol !== 'https:') {
    throw new SourceError('redirect_refused', `Refused redirect from https to ${quoted(to.href)}`);
  }
  // URL.host omits the scheme's default port, so "fastly.picsum.photos" matches only :443 (or :80).
  if (!allowedHosts(config).has(to.host.toLowerCase())) {
    throw new SourceError(
      'redirect_refused',
      `Refused redirect to host ${quoted(to.host)}, which is not in PICSUM_REDIRECT_HOSTS`,
    );
  }
}

export const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * GETs an image, following redirects by hand (only to allowed hosts, never https -> http, at most
 * MAX_REDIRECTS hops). Resolves with the open 200 response once its headers show an image of
 * acceptable size; every other response's body is dumped before throwing a SourceError.
 */
export async function openImage(
  url: URL,
  config: Config,
  deps: { source: SourcePool },
  signal: AbortSignal,
  format: 'jpg' | 'webp',
): Promise<OpenedImage> {
  const dispatcher = deps.source.dispatcher();
  let current = url;
  for (let hop = 0; ; hop++) {
    const response = await request(current, {
      dispatcher,
      signal,
      // identity: a compliant server may otherwise compress, and the stored bytes must be the image's.
      headers: { 'user-agent': USER_AGENT, accept: CONTENT_TYPES[format], 'accept-encoding': 'identity' },
    }).catch((error: unknown) => {
      throw toSourceError(error);
    });
    const { statusCode, headers, body } = response;

    if (statusCode >= 300 && statusCode < 400 && statusCode !== 304) {
      await body.dump();
      const location = header(headers, 'location');
      if (!location) throw new SourceError('source_status', `HTTP ${statusCode} without Location from ${current.host}`);
      if (hop >= MAX_REDIRECTS)
        throw new SourceError('redirect_refused', `More than ${MAX_REDIRECTS} redirects from ${url.href}`);
      const next = URL.parse(location, current.href);
      if (!next)
        throw new SourceError('redirect_refused', `Refused redirect to an unparsable Location ${quoted(location)}`);
      checkRedirect(current, next, config);
      current = next;
      continue;
    }
    if (statusCode !== 200) {
      await body.dump();
      throw new SourceError('source_status', `HTTP ${statusCode} from ${current.host}`, {
        retryable: RETRYABLE_STATUS.has(statusCode),
        retryAfterMs: parseRetryAfter(header(headers, 'retry-after')),
      });
    }
    // The media type alone: parameters (`; charset=...`) dropped.
    const contentType = (header(headers, 'content-type') ?? '').replace(/;.*/, '').trim().toLowerCase();
    if (contentType !== CONTENT_TYPES[format]) {
      await body.dump();
      throw new SourceError(
        'not_image',
        `Expected ${CONTENT_TYPES[format]} from ${current.host}, got Content-Type ${quoted(contentType)}`,
      );
    }
    const encoding = header(headers, 'content-encoding')?.trim().toLowerCase() ?? 'identity';
    if (encoding !== 'identity') {
      await body.dump();
      throw new SourceError('not_image', `Refused Content-Encoding ${quoted(encoding)} from ${current.host}`);
    }
    const lengthHeader = header(headers, 'content-length');
    const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
    if ((contentLength ?? 0) > config.maxImageBytes) {
      discard(body);
      throw new SourceError(
        'too_large',
        `Image of ${contentLength} bytes is over MAX_IMAGE_BYTES (${config.maxImageBytes})`,
      );
    }
    if (contentLength === 0) {
      await body.dump();
      throw new SourceError('not_image', `Empty body from ${current.host}`);
    }
    return {
      body,
      contentType: CONTENT_TYPES[format],
      contentLength,
      picsumId: sanitizeId(header(headers, 'picsum-id')),
      sourceUrl: url.href,
    };
  }
}

/** Drops a body we will not read. An undici body destroyed with no error listener would crash the process. */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/** picsum ids are small integers; anything else must not reach an S3 key unfiltered. */
function sanitizeId(raw: string | undefined): string {
  const id = raw?.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32);
  return id || 'unknown';
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** Maps transport errors (undici, sockets, body streams) to a SourceError; abort errors pass through. */
export function toSourceError(error: unknown): unknown {
  if (error instanceof SourceError) return error;
  const { name, code: rawCode } = (error ?? {}) as { name?: unknown; code?: unknown };
  if (rawCode === 'UND_ERR_ABORTED' || name === 'AbortError') return error;
  const code = typeof rawCode === 'string' ? rawCode : '';
  const message = error instanceof Error ? error.message : String(error);
  if (TIMEOUT_CODES.has(code)) {
    return new SourceError('source_timeout', `Source timed out: ${message}`, { retryable: true, cause: error });
  }
  return new SourceError('source_network', `Source connection failed: ${message}${code ? ` (${code})` : ''}`, {
    retryable: true,
    cause: error,
  });
}
