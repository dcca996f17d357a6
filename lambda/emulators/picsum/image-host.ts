// The image host: picsum's CDN, which serves what the base host redirected to, and only that.
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { catalogPhoto } from './catalog.js';
import { imageFor } from './images.js';
import { answerError, CDN_ROUTE, imageOptions, PicsumError } from './picsum-routes.js';
import { applyFault, type HostOptions, type RequestLog } from './request-log.js';
import type { UrlSigner } from './url-signer.js';

/**
 * A server answering `/id/{id}/{w}/{h}.{ext}?{sorted query}&hmac=...` with a real JPEG or WebP of
 * the photo's picture and picsum's headers; a URL the base host did not sign is a 400.
 */
export function createImageHost(options: HostOptions, log: RequestLog, signer: UrlSigner): Server {
  return createServer(async (req, res) => {
    const info = log.record('image', req);
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
      if (url.searchParams.get('hmac') !== signer.sign(url.pathname, Object.fromEntries(unsigned))) {
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
}
