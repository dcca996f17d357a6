import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../lambda/local/invoke.js';
import { startSigV4Server, TEST_CREDENTIALS } from '../support/sigv4-server.js';

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

let api: Awaited<ReturnType<typeof startSigV4Server>>;
let gets = 0;

beforeAll(async () => {
  api = await startSigV4Server('execute-api', 'eu-west-1', (request, res) => {
    res.setHeader('content-type', 'application/json');
    if (request.method === 'POST') {
      res.writeHead(202).end(JSON.stringify({ batchId: 'b-1', status: 'accepted', statusUrl: '/batches/b-1' }));
    } else if (++gets === 1) {
      res.end(
        JSON.stringify({ batchId: 'b-1', status: 'running', requested: 150, done: 40, succeeded: 40, failed: 0 }),
      );
    } else {
      res.end(JSON.stringify({ batchId: 'b-1', status: 'done', result }));
    }
  });
  // The SDK's credential chain reads these first: the caller's own credentials.
  process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
});
afterAll(async () => {
  await api.close();
  delete process.env.AWS_ACCESS_KEY_ID;
  delete process.env.AWS_SECRET_ACCESS_KEY;
});

describe('npm run invoke', () => {
  it('signs every call with SigV4, follows a 202 to the result and prints it as JSON', async () => {
    const printed: string[] = [];

    await invoke(
      [
        '--url',
        `${api.url}/v1/`,
        '--region',
        'eu-west-1',
        '--count',
        '150',
        '--seed',
        'x',
        '--idempotency-key',
        'nightly-42',
        '--json',
      ],
      (line) => printed.push(line),
      { pollMs: 20 },
    );

    expect(api.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'POST /v1/batches',
      'GET /v1/batches/b-1',
      'GET /v1/batches/b-1',
    ]);
    expect(api.seen.every((s) => s.signatureValid)).toBe(true);
    expect(JSON.parse(api.seen[0]?.body ?? '')).toEqual({ count: 150, seed: 'x' });
    // Signed along with the rest, so API Gateway passes it through untouched.
    expect(api.seen[0]?.headers['idempotency-key']).toBe('nightly-42');
    expect(api.seen[0]?.headers.authorization).toMatch(/SignedHeaders=[^,]*idempotency-key/);
    expect(JSON.parse(printed.at(-1) ?? '')).toEqual(result);
  }, 20_000);

  it('stops waiting and fails when the batch is reported failed', async () => {
    const failing = await startSigV4Server('execute-api', 'eu-west-1', (request, res) => {
      res.setHeader('content-type', 'application/json');
      if (request.method === 'POST') res.writeHead(202).end(JSON.stringify({ batchId: 'b-2', status: 'accepted' }));
      else
        res.end(
          JSON.stringify({ batchId: 'b-2', status: 'failed', requested: 5000, error: 'States.Timeout', cause: 'plan' }),
        );
    });
    try {
      await expect(
        invoke(['--url', `${failing.url}/v1/`, '--region', 'eu-west-1', '--count', '5000'], () => {}, { pollMs: 20 }),
      ).rejects.toThrow('Batch b-2 failed: States.Timeout plan');
    } finally {
      await failing.close();
    }
  }, 20_000);

  it('needs the URL, and a region when the URL does not name one', async () => {
    await expect(invoke(['--count', '1'])).rejects.toThrow(/--url/);
    const region = process.env.AWS_REGION;
    delete process.env.AWS_REGION;
    await expect(invoke(['--url', api.url])).rejects.toThrow(/--region/);
    if (region !== undefined) process.env.AWS_REGION = region;
  });
});
