import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBaseHost } from './base-host.js';
import { CATALOG } from './catalog.js';
import { createImageHost } from './image-host.js';
import { imageFor } from './images.js';
import { type HostOptions, type RequestInfo, RequestLog } from './request-log.js';
import { urlSigner } from './url-signer.js';

export type { Fault, RequestInfo } from './request-log.js';

export type OfflinePicsumOptions = HostOptions & { port?: number };

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

async function listen(server: Server, port: number): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

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
  const log = new RequestLog();
  const signer = urlSigner();
  const imageServer = createImageHost(options, log, signer);
  const imageHost = `127.0.0.1:${await listen(imageServer, 0)}`;
  let root = '';
  const baseServer = createBaseHost(options, log, signer, { root: () => root, imageHost });
  const basePort = await listen(baseServer, options.port ?? 0);
  root = `http://127.0.0.1:${basePort}`;
  const accepted = { base: 0, image: 0 };
  baseServer.on('connection', () => accepted.base++);
  imageServer.on('connection', () => accepted.image++);

  return {
    baseUrl: `http://127.0.0.1:${basePort}`,
    imageHost,
    requests: log.requests,
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
