import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** What a fault plan sees of each request. `index` is the `i` of `/seed/{seed}-{i}/...`, else -1. */
export type RequestInfo = { hop: 'base' | 'image'; path: string; index: number; attempt: number; at: number };

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
  close(): Promise<void>;
};

const PICSUM_IDS = 1085;
const ROUTE = /^\/(?:seed\/([^/]+)\/|id\/(\d+)\/)?(\d{1,4})(?:\/(\d{1,4}))?(\.webp|\.jpg)?$/;

function idFor(seed: string | undefined, fixedId: string | undefined, counter: number): number {
  if (fixedId) return Number(fixedId);
  if (seed === undefined) return counter % PICSUM_IDS;
  let hash = 0;
  for (const char of seed) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % PICSUM_IDS;
}

async function listen(server: Server, port: number): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A picsum.photos stand-in on loopback: `/{w}/{h}`, `/seed/{seed}/{w}/{h}`, `.webp`, `?grayscale`
 * answer 302 to a second host (another port), which serves a real JPEG or WebP with Content-Length
 * and Picsum-ID, as fastly.picsum.photos does. Latency and faults are injectable.
 */
export async function startOfflinePicsum(options: OfflinePicsumOptions = {}): Promise<OfflinePicsum> {
  const requests: RequestInfo[] = [];
  const attempts = new Map<string, number>();
  let counter = 0;

  function record(hop: RequestInfo['hop'], req: IncomingMessage): RequestInfo {
    const path = req.url ?? '/';
    const attemptKey = `${hop}:${path}`;
    const attempt = (attempts.get(attemptKey) ?? 0) + 1;
    attempts.set(attemptKey, attempt);
    const seedIndex = /\/seed\/[^/]*-(\d+)\//.exec(path)?.[1];
    const info = { hop, path, index: seedIndex === undefined ? -1 : Number(seedIndex), attempt, at: Date.now() };
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
    const match = ROUTE.exec(url.pathname);
    if (!match) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const [, , id, width, height, extension] = match;
    const format = extension === '.webp' ? 'webp' : 'jpg';
    const body = await imageFor(
      {
        id: Number(id),
        width: Number(width),
        height: Number(height ?? width),
        format,
        grayscale: url.searchParams.has('grayscale'),
      },
      options.imageBytes,
    );
    const headers = {
      'content-type': format === 'webp' ? 'image/webp' : 'image/jpeg',
      'picsum-id': String(id),
      'cache-control': 'public, max-age=2592000, immutable',
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
    const info = record('base', req);
    if (options.latencyMs) await sleep(options.latencyMs);
    if (applyFault(options.faults?.(info), res)) return;
    const url = new URL(req.url ?? '/', 'http://base');
    const match = ROUTE.exec(url.pathname);
    if (!match || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const [, seed, fixedId, width, height, extension = ''] = match;
    const id = idFor(seed, fixedId, counter++);
    const query = url.search ? `${url.search}&hmac=offline` : '?hmac=offline';
    res.writeHead(302, { location: `http://${imageHost}/id/${id}/${width}/${height ?? width}${extension}${query}` });
    res.end();
  });
  const basePort = await listen(baseServer, options.port ?? 0);

  const accepted = { base: 0, image: 0 };
  baseServer.on('connection', () => accepted.base++);
  imageServer.on('connection', () => accepted.image++);

  return {
    baseUrl: `http://127.0.0.1:${basePort}`,
    imageHost,
    requests,
    connections: () => ({ ...accepted }),
    async close() {
      for (const server of [baseServer, imageServer]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}
