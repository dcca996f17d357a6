import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest } from '@smithy/core/protocols';
import { afterEach, describe, expect, it } from 'vitest';
import { S3HttpHandler } from '../../lambda/function/storage/s3-http-handler.js';
import { attachUploadContext } from '../../lambda/function/storage/upload-context.js';

type Seen = { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer };

let server: Server | undefined;
let handler: S3HttpHandler | undefined;
afterEach(() => {
  handler?.destroy();
  server?.closeAllConnections();
  server?.close();
});

/** A server that records each request and answers with `answer`, or never when it returns false. */
async function recordingServer(answer: (res: import('node:http').ServerResponse) => boolean | undefined) {
  const seen: Seen[] = [];
  const closed: boolean[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const slot = closed.push(false) - 1;
      res.on('close', () => {
        closed[slot] = true;
      });
      answer(res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  // Timeouts far beyond the test's own: a request that ends here ended by its signal.
  handler = new S3HttpHandler({ connections: 4, connectTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
  return { seen, closed, port };
}

const request = (port: number, fields: Partial<HttpRequest>) =>
  new HttpRequest({ protocol: 'http:', hostname: '127.0.0.1', port, method: 'GET', path: '/', headers: {}, ...fields });

describe("the S3 client's HTTP layer on undici", () => {
  it('sends the signed request as it is: method, path, query, headers and body bytes', async () => {
    const { seen, port } = await recordingServer((res) => {
      res.writeHead(200, { etag: '"1"' }).end();
      return true;
    });
    const body = Buffer.from([0, 1, 2, 255, 254]);

    const { response } = await (handler as S3HttpHandler).handle(
      request(port, {
        method: 'PUT',
        path: '/bucket/a%20key.jpg',
        query: { 'x-id': 'PutObject', tagging: null as unknown as string, list: ['b', 'a'] },
        headers: {
          host: `127.0.0.1:${port}`,
          'content-type': 'image/jpeg',
          'content-length': '5',
          authorization: 'AWS4 x',
        },
        body,
      }),
    );

    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).toBe('"1"');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'PUT',
      url: '/bucket/a%20key.jpg?list=b&list=a&tagging&x-id=PutObject',
      headers: { 'content-type': 'image/jpeg', 'content-length': '5', authorization: 'AWS4 x' },
    });
    expect(seen[0]?.body.equals(body)).toBe(true);
  });

  it('drops Expect: 100-continue (undici refuses it) and joins repeated response headers', async () => {
    const { seen, port } = await recordingServer((res) => {
      res.setHeader('x-amz-meta-tag', ['a', 'b']);
      res.writeHead(200).end('done');
      return true;
    });

    const { response } = await (handler as S3HttpHandler).handle(
      request(port, { method: 'PUT', headers: { Expect: '100-continue', 'content-length': '2' }, body: 'hi' }),
    );

    expect(seen[0]?.headers.expect).toBeUndefined();
    expect(response.headers['x-amz-meta-tag']).toBe('a, b');
    expect(await (response.body as import('node:stream').Readable).toArray()).toEqual([Buffer.from('done')]);
  });

  it('aborts a request by the signal attached to its body, and by a signal passed per call', async () => {
    const { closed, port } = await recordingServer(() => false);
    const bySignal = async (how: 'body' | 'call') => {
      const body = Buffer.from('image bytes');
      const abort = new AbortController();
      if (how === 'body') attachUploadContext(body, { sha256: '', signal: abort.signal });
      const sending = (handler as S3HttpHandler).handle(
        request(port, { method: 'PUT', headers: { 'content-length': String(body.length) }, body }),
        how === 'call' ? { abortSignal: abort.signal } : {},
      );
      setTimeout(() => abort.abort(new Error('deadline')), 50);
      return sending;
    };

    await expect(bySignal('body')).rejects.toThrow('deadline');
    await expect(bySignal('call')).rejects.toThrow('deadline');
    await expect.poll(() => closed).toEqual([true, true]);
  });
});
