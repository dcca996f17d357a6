// What the offline server saw, and the faults a test or benchmark injects into it.
import type { IncomingMessage, ServerResponse } from 'node:http';

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

/** How both hosts answer: their latency, the images' size, the faults injected. */
export type HostOptions = {
  /** Delay before answering, on each hop (the redirect and the image). */
  latencyMs?: number;
  /** Pad every image to this many bytes. */
  imageBytes?: number;
  /** Chooses a fault for a request, or none. */
  faults?: (request: RequestInfo) => Fault | undefined;
};

/** Every request the two hosts saw, in order, numbered per path so a fault plan can fail only a first attempt. */
export class RequestLog {
  readonly requests: RequestInfo[] = [];
  private readonly attempts = new Map<string, number>();

  record(hop: RequestInfo['hop'], req: IncomingMessage): RequestInfo {
    const path = req.url ?? '/';
    const attemptKey = `${hop}:${path}`;
    const attempt = (this.attempts.get(attemptKey) ?? 0) + 1;
    this.attempts.set(attemptKey, attempt);
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
    this.requests.push(info);
    return info;
  }
}

/** Answers a fault; true when it did. */
export function applyFault(fault: Fault | undefined, res: ServerResponse): boolean {
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
