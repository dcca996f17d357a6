import { createHmac, randomBytes } from 'node:crypto';
import { buildQuery } from './picsum-routes.js';

/** Signs the image host's URLs, so that it serves only what the base host redirected to, as picsum's does. */
export type UrlSigner = { sign(path: string, query: Record<string, string>): string };

/** A signer with a key of its own: a server's URLs do not open another's images. */
export function urlSigner(): UrlSigner {
  const key = randomBytes(32);
  return {
    sign: (path, query) =>
      createHmac('sha256', key)
        .update(`${path}${buildQuery(query)}`)
        .digest('base64url'),
  };
}
