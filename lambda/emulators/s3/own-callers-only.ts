import { resolve, sep } from 'node:path';
import { foreignCaller } from '../../local/loopback-callers.js';
import { type KoaMiddleware, S3Error } from './s3rver-parts.js';

/** The request fields the door checks, as Koa gives them (`path` still percent-encoded). */
type DoorContext = Parameters<KoaMiddleware>[0] & { path: string; request: { type: string } };

/** The key a path names, decoded (`/{bucket}/{key}`), or undefined for a bucket or the service. */
function keyOf(path: string): string | undefined {
  const slash = path.indexOf('/', 1);
  return slash < 0 || slash === path.length - 1 ? undefined : decodeURIComponent(path.slice(slash + 1));
}

/**
 * Why the embedded S3 refuses a request, or undefined. It is the project's own store on loopback,
 * so it answers only the project's clients:
 * - the Host is the server itself and no Origin is sent (a web page's request always carries one
 *   when it is cross-origin; a rebound name does not match the Host);
 * - every request is signed (a page cannot add an Authorization header without a preflight, which
 *   s3rver refuses for a bucket without CORS rules);
 * - no browser form upload (POST of multipart/form-data, which needs no preflight);
 * - no key that would resolve outside the bucket's folder on disk (`..`, `.`).
 */
function refusal(ctx: DoorContext, port: number, directory: string, acceptUnsigned: boolean): Error | undefined {
  const foreign = foreignCaller(ctx.headers, port, { sameOrigin: false });
  if (foreign) return new S3Error('AccessDenied', foreign);
  const signed = ctx.headers.authorization !== undefined || 'X-Amz-Signature' in ctx.query;
  if (!signed && !acceptUnsigned)
    return new S3Error('AccessDenied', 'Requests to the embedded S3 must be signed (SigV4)');
  if (ctx.method === 'POST' && ctx.request.type === 'multipart/form-data') {
    return new S3Error('MethodNotAllowed', 'Form uploads (POST Object) are refused by the embedded S3');
  }
  let key: string | undefined;
  try {
    key = keyOf(ctx.path);
  } catch {
    return new S3Error('InvalidURI', 'The request path is not valid percent-encoding');
  }
  if (key === undefined) return undefined;
  const bucketFolder = resolve(directory, ctx.path.split('/')[1] ?? '');
  const segments = key.split('/');
  if (segments.includes('..') || segments.includes('.') || key.includes('\0')) {
    return new S3Error('InvalidArgument', `The key ${JSON.stringify(key.slice(0, 200))} has a . or .. segment`);
  }
  if (!resolve(bucketFolder, key).startsWith(bucketFolder + sep)) {
    return new S3Error('InvalidArgument', 'The key resolves outside its bucket');
  }
  return undefined;
}

/** The embedded S3's door: refuses what `refusal` names, before s3rver sees the request. */
export function ownCallersOnly(
  port: () => number,
  directory: string,
  options: { acceptUnsigned: boolean },
): KoaMiddleware {
  return async (ctx, next) => {
    const refused = refusal(ctx as DoorContext, port(), directory, options.acceptUnsigned);
    if (refused) throw refused;
    await next();
  };
}
