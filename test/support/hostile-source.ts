import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { type Config, loadConfig } from '../../lambda/function/contracts/config.js';
import { createSourcePool, type SourcePool } from '../../lambda/function/source/picsum.js';

/** A real JPEG's first bytes (SOI, APP0 "JFIF") then `size` bytes in all: enough for a magic-bytes check. */
export function jpegOf(size: number, fill = 0x61): Buffer {
  const body = Buffer.alloc(size, fill);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]).copy(body);
  return body;
}

/** A WebP's RIFF header, then `size` bytes in all. */
export function webpOf(size: number): Buffer {
  const body = Buffer.alloc(size, 0x62);
  body.write('RIFF', 0, 'latin1');
  body.writeUInt32LE(size - 8, 4);
  body.write('WEBPVP8 ', 8, 'latin1');
  return body;
}

/**
 * An image source that misbehaves as told, on loopback: `answer` writes each response by hand.
 * It counts every request it gets, so a test can prove what was (or was not) contacted. Without
 * `catalog` it has none: `/v2/list` is answered 404 (counted apart, in `catalogRequests`), and
 * batches fall back to picsum's own routes, which `answer` answers; with it, `/v2/list` lists
 * those photos on its first page.
 */
export async function startHostileSource(
  answer: (req: IncomingMessage, res: ServerResponse, n: number) => void,
  options: { catalog?: { id: string; author: string; width: number; height: number; url: string }[] } = {},
) {
  const requests: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
  const catalogRequests: string[] = [];
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/v2/list')) {
      catalogRequests.push(req.url);
      const page = new URL(req.url, 'http://local').searchParams.get('page');
      if (!options.catalog) res.writeHead(404, { 'content-type': 'text/plain' }).end('page not found');
      else
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(page === '1' ? options.catalog : []));
      return;
    }
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    answer(req, res, requests.length);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    catalogRequests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export type HostileSource = Awaited<ReturnType<typeof startHostileSource>>;

/**
 * A test file's hostile source and the pool that reads it, closed after each test: `start` one,
 * `pool` for its config, `requests` what it was asked.
 */
export function hostileSources() {
  let source: HostileSource | undefined;
  let pool: SourcePool | undefined;
  afterEach(async () => {
    await pool?.close();
    await source?.close();
    source = undefined;
    pool = undefined;
  });
  return {
    async start(answer: Parameters<typeof startHostileSource>[0]): Promise<HostileSource> {
      source = await startHostileSource(answer);
      return source;
    },
    pool(config: Config): SourcePool {
      pool = createSourcePool(config);
      return pool;
    },
    get requests(): HostileSource['requests'] {
      return source?.requests ?? [];
    },
  };
}

/** The config for a run against `source` alone (no redirect hosts), with quick retries; `env` adds to it. */
export const configFor = (source: { url: string }, env: Record<string, string> = {}): Config =>
  loadConfig({
    BUCKET_NAME: 'b',
    PICSUM_BASE_URL: source.url,
    PICSUM_REDIRECT_HOSTS: '',
    RETRY_BASE_MS: '10',
    RETRY_MAX_MS: '20',
    ...env,
  });
