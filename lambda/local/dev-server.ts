import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { GATEWAY_MAX_BODY_BYTES, gatewayAnswer } from '../api-description/gateway-answers.js';
import { errorResponse, json } from '../function/adapters/http-api/responses.js';
import { type ApiLog, handleApiEvent } from '../function/adapters/http-api/routes.js';
import { integerVar } from '../function/contracts/config.js';
import { foreignCaller } from './loopback-callers.js';
import { servePage } from './pages/routes.js';
import type { LocalRuntime } from './setup.js';

/** `PORT` for `npm run dev`, checked as every other variable is (0 lets the system pick one). */
export const devPort = (env: NodeJS.ProcessEnv): number => integerVar(env, 'PORT', 3000, 0, 65_535);

/** Background batches run two at a time here; eight more may wait, the rest are answered 503. */
/** Batches the dev server runs on its engine at once; more are refused (503), so a burst cannot pile up hours of work. */
export const ENGINE_LIMIT = 4;

/** Reads the body up to `limit` bytes; undefined when it is larger (the rest is not kept). */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The REST API proxy event API Gateway would send for this request. */
export function toProxyEvent(req: IncomingMessage, body: string): APIGatewayProxyEvent {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const batchId = /^\/batches\/([^/]+)\/?$/.exec(url.pathname)?.[1];
  return {
    httpMethod: req.method ?? 'GET',
    path: url.pathname,
    resource: batchId ? '/batches/{batchId}' : url.pathname,
    headers,
    multiValueHeaders: {},
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : null,
    multiValueQueryStringParameters: null,
    pathParameters: batchId ? { batchId } : null,
    stageVariables: null,
    body: body === '' ? null : body,
    isBase64Encoded: false,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

function send(res: ServerResponse, result: { statusCode: number; headers?: Record<string, unknown>; body: string }) {
  res.writeHead(result.statusCode, result.headers as Record<string, string>);
  res.end(result.body);
}

/**
 * Serves the API handler on 127.0.0.1 as API Gateway would, and the pages (lambda/local/pages): a
 * form for a batch at `/`, each batch's view. Batches over SYNC_MAX_COUNT run in
 * this process in the background, as they would in a second Lambda invocation or on Step Functions.
 */
export async function startDevServer(runtime: LocalRuntime, options: { port?: number; log?: ApiLog } = {}) {
  const log: ApiLog = options.log ?? {
    info: (message, extra) => console.error(`${message} ${JSON.stringify(extra)}`),
    error: (message, ...extra) => console.error(message, ...extra),
  };
  // Stopping the server cancels every batch it runs: each ends with its manifest, unfinished items `cancelled`.
  const stopping = new AbortController();
  const cancel = stopping.signal;
  const { batches } = runtime;
  runtime.engine.limitRunning(ENGINE_LIMIT);
  // Deployed, each batch puts an event on EventBridge as it ends; here the log shows what it would put.
  runtime.showEvents((event) => log.info(`event ${event.detailType}`, event.detail));
  const server: Server = createServer(async (req, res) => {
    try {
      const refusal = foreignCaller(req.headers, (server.address() as AddressInfo).port, { sameOrigin: true });
      if (refusal) {
        req.resume();
        send(res, json(403, { error: { code: 'FORBIDDEN', message: refusal } }));
        return;
      }
      if (await servePage(req, res, runtime)) return;
      // API Gateway refuses payloads over 10 MB before the function sees them, with its REQUEST_TOO_LARGE answer.
      const body = await readBody(req, GATEWAY_MAX_BODY_BYTES);
      if (body === undefined) {
        send(res, gatewayAnswer('REQUEST_TOO_LARGE'));
        return;
      }
      const result = await handleApiEvent(toProxyEvent(req, body), {
        batches,
        remainingMs: 29_000,
        log,
        cancel,
      });
      send(res, result);
    } catch (error) {
      log.error('Dev server request failed', error);
      // A page that failed mid-answer is cut off rather than left open: the browser sees it end.
      if (res.headersSent) res.destroy();
      else send(res, errorResponse(error));
    }
  });
  server.listen(options.port ?? 3000, '127.0.0.1');
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /**
     * Stops taking requests and cancels the batches running here (background and synchronous):
     * each writes its manifest before this resolves. Requests in flight get their answers.
     */
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeIdleConnections();
      stopping.abort();
      await runtime.stopBatches();
      await closed;
    },
  };
}
