import type { IncomingMessage } from 'node:http';
import { foreignCaller } from '../../local/loopback-callers.js';
import { S3Error } from './s3-error.js';

/** The bucket and key a request's path names, decoded; `key` is undefined for the bucket itself. */
export type Target = { bucket: string; key: string | undefined };

/**
 * The bucket and key of a path-style request (`/{bucket}/{key}`), each percent-decoded once, as S3
 * decodes them. A key never names a file (see ObjectFiles), and still a key with a `.` or `..`
 * segment, or a NUL, is refused: the CLI's copies of a batch name files after keys.
 */
export function targetOf(path: string): Target {
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new S3Error('InvalidURI', 'The request path is not valid percent-encoding');
    }
  };
  const slash = path.indexOf('/', 1);
  const bucket = decode(slash < 0 ? path.slice(1) : path.slice(1, slash));
  const key = slash < 0 || slash === path.length - 1 ? undefined : decode(path.slice(slash + 1));
  if (key !== undefined) {
    const segments = key.split('/');
    if (segments.includes('..') || segments.includes('.') || key.includes('\0')) {
      throw new S3Error('InvalidArgument', `The key ${JSON.stringify(key.slice(0, 200))} has a . or .. segment`);
    }
  }
  return { bucket, key };
}

/**
 * The embedded S3 is the project's own store on loopback, so it answers only the project's
 * clients. Refuses, before anything else reads the request:
 * - a Host that is not the server itself, or any Origin (a web page's request always carries one
 *   when it is cross-origin; a rebound name does not match the Host);
 * - a browser form upload (POST of multipart/form-data, which needs no preflight).
 * Signatures are checked next (signature-check.ts); the bucket after them.
 */
export function refuseForeignCallers(req: IncomingMessage, port: number): void {
  const foreign = foreignCaller(req.headers, port, { sameOrigin: false });
  if (foreign) throw new S3Error('AccessDenied', foreign);
  if (req.method === 'POST' && req.headers['content-type']?.toLowerCase().startsWith('multipart/form-data')) {
    throw new S3Error('MethodNotAllowed', 'Form uploads (POST Object) are refused by the embedded S3');
  }
}
