import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { openApiDocument } from '../../api-description/openapi.js';
import type { LocalRuntime } from '../setup.js';
import { batchObject, batchView } from './batch-pages.js';
import { renderHomePage } from './home-page.js';

/** The page script, built from pages/browser/page.ts by build.mjs (npm run dev builds first). */
const PAGE_SCRIPT = join(process.cwd(), '.build', 'page.js');

/** Batches the home page lists. */
const RECENT_BATCHES = 10;

/** A path segment decoded, or undefined when its percent-encoding is malformed. */
function decodedSegment(segment: string | undefined): string | undefined {
  try {
    return segment === undefined ? undefined : decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** A browser navigating (it asks for HTML first), not an API client (JSON, or anything). */
const wantsHtml = (req: IncomingMessage) => /^\s*text\/html/.test(req.headers.accept ?? '');

/**
 * The dev server's pages, before the API: `/` (the form), `/assets/page.js`, a batch's view
 * (`/batches/{batchId}/view`, or `/batches/{batchId}` asked for as HTML) and its objects
 * (`/batches/{batchId}/objects/{name}`). Everything else is the API's. True when it answered.
 */
export async function servePage(req: IncomingMessage, res: ServerResponse, runtime: LocalRuntime): Promise<boolean> {
  if (req.method !== 'GET') return false;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const options = runtime;
  if (path === '/') {
    // The listing first: a head sent before it could fail would leave no way to answer.
    const page = await runtime.batches.list({ limit: RECENT_BATCHES });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(renderHomePage(runtime.config, page.batches));
    return true;
  }
  // The API's OpenAPI description, with this server's own limits (docs/openapi.json has the deployed defaults).
  if (path === '/openapi.json') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(openApiDocument(runtime.config)));
    return true;
  }
  if (path === '/assets/page.js') {
    const script = await readFile(PAGE_SCRIPT).catch(() => undefined);
    res.writeHead(script ? 200 : 404, { 'content-type': 'text/javascript; charset=utf-8' });
    res.end(script ?? '// Not built: run `npm run build:local`');
    return true;
  }
  const view = /^\/batches\/([^/]+)\/view$/.exec(path) ?? (wantsHtml(req) ? /^\/batches\/([^/]+)$/.exec(path) : null);
  const object = /^\/batches\/([^/]+)\/objects\/([^/]+)$/.exec(path);
  if (!view?.[1] && !(object?.[1] && object[2])) return false;
  const [batchId, name] = (view ?? object ?? []).slice(1).map(decodedSegment);
  if (batchId === undefined || (object && name === undefined)) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('The path is not valid percent-encoding');
    return true;
  }
  if (view) await batchView(batchId, res, options, url.searchParams.get('page'));
  else await batchObject(batchId, name ?? '', res, options);
  return true;
}
