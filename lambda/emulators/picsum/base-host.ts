// The base host: picsum.photos itself — its catalog, and image routes that redirect to the image host.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { CATALOG, type CatalogPhoto, catalogPhoto } from './catalog.js';
import {
  answerError,
  buildQuery,
  decodedSeed,
  IMAGE_ROUTE,
  INFO_ROUTE,
  imageOptions,
  MAX_SIZE,
  NO_STORE,
  PicsumError,
  seededPhoto,
} from './picsum-routes.js';
import { applyFault, type HostOptions, type RequestLog } from './request-log.js';
import type { UrlSigner } from './url-signer.js';

/**
 * A server answering picsum's catalog (`/v2/list`, `/id/{id}/info`, `/seed/{seed}/info`) and its
 * image routes, each a 302 (no-store) to `imageHost` with a signed URL. `root()` is its own
 * address, known once it listens.
 */
export function createBaseHost(
  options: HostOptions,
  log: RequestLog,
  signer: UrlSigner,
  where: { root: () => string; imageHost: string },
): Server {
  let randomPicks = 0;
  const listed = (photo: CatalogPhoto) => ({
    ...photo,
    download_url: `${where.root()}/id/${photo.id}/${photo.width}/${photo.height}`,
  });
  /** `/v2/list?page=P&limit=L`: L from 1 to 100 (default 30), with picsum's `Link` header. */
  function list(url: URL, res: ServerResponse) {
    const asked = Number.parseInt(url.searchParams.get('limit') ?? '', 10);
    const limit = Number.isNaN(asked) || asked < 1 ? 30 : Math.min(asked, 100);
    const pageAsked = Number.parseInt(url.searchParams.get('page') ?? '', 10);
    const page = Number.isNaN(pageAsked) || pageAsked < 1 ? 1 : pageAsked;
    const photos = CATALOG.slice(limit * (page - 1), limit * page).map(listed);
    const at = (n: number) => `<${where.root()}/v2/list?page=${n}&limit=${limit}>`;
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

  return createServer(async (req, res) => {
    const requestInfo = log.record('base', req);
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
      const location = `http://${where.imageHost}${path}${buildQuery({ ...query, hmac: signer.sign(path, query) })}`;
      res.writeHead(302, { location, 'cache-control': NO_STORE });
      res.end();
    } catch (error) {
      if (!(error instanceof PicsumError)) throw error;
      answerError(req, res, error);
    }
  });
}
