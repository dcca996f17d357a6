import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../lambda/local/invoke.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const result = {
  batchId: 'b-1',
  status: 'done',
  requested: 150,
  succeeded: 150,
  failed: 0,
  elapsedMs: 1234,
  bytes: 10_000_000,
  concurrency: 16,
  bucket: 'bucket',
  prefix: 'images/b-1/',
  manifestKey: 'images/b-1/manifest.json',
  failures: [],
  latencyMs: { p50: 100, p90: 120, p99: 130, max: 140 },
  startedAt: '2026-11-25T00:00:00.000Z',
  finishedAt: '2026-11-25T00:00:01.234Z',
};

type Seen = { method: string; path: string; body: string; signatureValid: boolean };
const seen: Seen[] = [];
let baseUrl: string;
const server = createServer(async (req: IncomingMessage, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  // Re-sign what arrived with the same key and the request's own date: the signatures must agree.
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'eu-west-1',
    credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
  const url = new URL(req.url ?? '/', 'http://x');
  const date = String(req.headers['x-amz-date']);
  const signingDate = new Date(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  const expected = await signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: url.pathname,
      query: {},
      headers: {
        host: String(req.headers.host),
        ...(body ? { 'content-type': String(req.headers['content-type']) } : {}),
      },
      body: body || undefined,
    },
    { signingDate },
  );
  seen.push({
    method: req.method ?? '',
    path: url.pathname,
    body,
    signatureValid: expected.headers.authorization === req.headers.authorization,
  });
  res.setHeader('content-type', 'application/json');
  if (req.method === 'POST') {
    res.writeHead(202).end(JSON.stringify({ batchId: 'b-1', status: 'accepted', statusUrl: '/batches/b-1' }));
  } else if (seen.filter((s) => s.method === 'GET').length === 1) {
    res.end(JSON.stringify({ batchId: 'b-1', status: 'running', requested: 150, done: 40, succeeded: 40, failed: 0 }));
  } else {
    res.end(JSON.stringify({ batchId: 'b-1', status: 'done', result }));
  }
});

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
});
afterAll(() => {
  server.close();
  delete process.env.AWS_ACCESS_KEY_ID;
  delete process.env.AWS_SECRET_ACCESS_KEY;
});

describe('npm run invoke', () => {
  it('signs every call with SigV4, follows a 202 to the result and prints it as JSON', async () => {
    const printed: string[] = [];

    await invoke(['--url', baseUrl, '--region', 'eu-west-1', '--count', '150', '--seed', 'x', '--json'], (line) =>
      printed.push(line),
    );

    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'POST /v1/batches',
      'GET /v1/batches/b-1',
      'GET /v1/batches/b-1',
    ]);
    expect(seen.every((s) => s.signatureValid)).toBe(true);
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ count: 150, seed: 'x' });
    expect(JSON.parse(printed.at(-1) ?? '')).toEqual(result);
  }, 20_000);

  it('needs the URL, and a region when the URL does not name one', async () => {
    await expect(invoke(['--count', '1'])).rejects.toThrow(/--url/);
    const region = process.env.AWS_REGION;
    delete process.env.AWS_REGION;
    await expect(invoke(['--url', baseUrl])).rejects.toThrow(/--region/);
    if (region !== undefined) process.env.AWS_REGION = region;
  });
});
