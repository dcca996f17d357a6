import type { ServerResponse } from 'node:http';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { parseBatchId } from '../../function/contracts/request.js';
import { pagesOf, renderReport } from '../../function/report/batch-report.js';
import { escapeHtml as e } from '../../function/report/html.js';
import { sourceName } from '../../function/report/source-name.js';
import { batchPrefix, nameInBatch } from '../../function/storage/keys.js';
import type { LocalRuntime } from '../setup.js';
import { retryCommand } from '../summary.js';

type Options = Pick<LocalRuntime, 'config' | 'deps' | 'batches'>;

function html(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

const page = (title: string, body: string, refresh = false) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8">${refresh ? '<meta http-equiv="refresh" content="1">' : ''}<title>${e(title)}</title><style>body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem}</style></head><body><main>${body}<p><a href="/">New batch</a></p></main></body></html>`;

/**
 * `GET /batches/{batchId}` as HTML (or `/batches/{batchId}/view`): the batch's view once it has a
 * manifest (the report, images from this server, `?page=N` of its items), a page that refreshes
 * itself while it runs.
 */
export async function batchView(
  rawId: string,
  res: ServerResponse,
  options: Options,
  rawPage: string | null = null,
): Promise<void> {
  const batchId = parseBatchId(rawId);
  const status = await options.batches.status(batchId);
  if (!status) return html(res, 404, page('No such batch', `<h1>No batch ${e(batchId)}</h1>`));
  if (status.status === 'accepted' || status.status === 'running') {
    const done = 'done' in status ? status.done : 0;
    const body = `<h1>Batch <code>${e(batchId)}</code> is ${status.status}</h1><p role="status">${done} of ${status.requested} done.</p><progress max="${status.requested}" value="${done}"></progress>`;
    return html(res, 200, page(`Batch ${batchId}`, body, true));
  }
  const manifest = await options.batches.records.manifest(batchId);
  if (!manifest) {
    const why =
      status.status === 'failed'
        ? `${status.error}: ${status.cause}`
        : status.status === 'unfinished'
          ? `Unfinished: ${status.cause}. Finish it with: npm start -- --retry ${batchId}`
          : status.status;
    return html(
      res,
      200,
      page(`Batch ${batchId}`, `<h1>Batch <code>${e(batchId)}</code> has no manifest</h1><p>${e(why)}</p>`),
    );
  }
  // `?page=N` pages through the items; anything but a page the batch has is not found.
  const number = rawPage === null ? 1 : /^[1-9]\d{0,5}$/.test(rawPage) ? Number(rawPage) : 0;
  if (number < 1 || number > pagesOf(manifest.items.length)) {
    const body = `<h1>Batch <code>${e(batchId)}</code> has no page ${e(rawPage ?? '')}</h1><p><a href="/batches/${e(batchId)}/view">Its first page</a></p>`;
    return html(res, 404, page('No such page', body));
  }
  const report = renderReport(manifest, {
    imageHref: (key) => `/batches/${batchId}/objects/${encodeURIComponent(nameInBatch(key))}`,
    manifestHref: `/batches/${batchId}/objects/manifest.json`,
    page: { number, href: (to) => `/batches/${batchId}/view?page=${to}#images` },
  });
  // Unfinished items: a button that retries them (the page script posts to the retry route and
  // follows the run), when this server can run it. A batch keeps to its source: from another one
  // than this server's, the button would only be refused (OTHER_SOURCE), so the page gives the
  // command that runs it instead.
  const unfinished = manifest.items.filter((item) => !item.ok).length;
  const { source } = manifest.result;
  const retry =
    unfinished === 0
      ? ''
      : source !== options.batches.config.source
        ? `<p id="retry-elsewhere">Its ${unfinished} unfinished item(s) came from ${e(sourceName(source))}, and this server fetches from ${e(sourceName(options.batches.config.source))}: a batch keeps to one source. Retry them with <code>${e(retryCommand({ batchId, source }, true))}</code></p>`
        : `<p><button id="retry" data-batch="${e(batchId)}">Retry ${unfinished} unfinished item(s)</button></p><progress id="progress" hidden></progress>`;
  // Deleting every object of the batch, once nothing runs it (the API refuses a running one, 409);
  // the page script sends it (and the retry), and says how each went on the status line.
  const controls = `<p><button id="delete" data-batch="${e(batchId)}">Delete this batch</button></p><p id="status" role="status" aria-live="polite"></p><script type="module" src="/assets/page.js"></script>`;
  html(res, 200, report.replace('</main>', `${retry}${controls}<p><a href="/">New batch</a></p></main>`));
}

/**
 * The objects a batch writes that its pages link to, by name within its folder, with the one
 * Content-Type each is served as: images (as keys.ts names them), the manifest and the report.
 */
function servedType(name: string): string | undefined {
  if (name === 'manifest.json') return 'application/json';
  if (name === 'report.html') return 'text/html; charset=utf-8';
  const image = /^\d+-[A-Za-z0-9_-]+\.(jpg|webp)$/.exec(name)?.[1];
  return image === undefined ? undefined : image === 'jpg' ? 'image/jpeg' : 'image/webp';
}

/**
 * What a browser may do with an object served from this origin: nothing but show it. No script
 * runs, not even in the report (it has none), and nothing is sniffed into another type.
 */
const OBJECT_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
  'cache-control': 'no-store',
};

/**
 * `GET /batches/{batchId}/objects/{name}`: an object the batch wrote (an image, its manifest, its
 * report), served as its own type with OBJECT_HEADERS. Any other name, or an image stored as
 * another type, is not found: the bucket may hold anything, and this origin serves only batches.
 */
export async function batchObject(batchId: string, name: string, res: ServerResponse, options: Options): Promise<void> {
  const type = servedType(name);
  const notFound = () => html(res, 404, page('Not found', '<h1>Not found</h1>'));
  if (type === undefined) return notFound();
  const key = `${batchPrefix(options.config, parseBatchId(batchId))}${name}`;
  try {
    const object = await options.deps.s3.send(new GetObjectCommand({ Bucket: options.config.bucket, Key: key }));
    const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    if (type.startsWith('image/') && object.ContentType !== type) return notFound();
    res.writeHead(200, { ...OBJECT_HEADERS, 'content-type': type, 'content-length': String(bytes.length) });
    res.end(bytes);
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return notFound();
    throw error;
  }
}
