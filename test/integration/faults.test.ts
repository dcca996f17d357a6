import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { CATALOG } from '../../lambda/emulators/picsum/catalog.js';
import type { Fault, RequestInfo } from '../../lambda/emulators/picsum/offline-picsum.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, Manifest } from '../../lambda/function/contracts/result.js';
import { runBatch } from '../../lambda/function/orchestration/batch.js';
import { documentsOf, type Harness, isImageKey, sha256, startHarness } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

/** Item i of these batches is photo `photo(i)`: they name their photos (`ids`), so a fault plan can pick items. */
const photo = (index: number): string => CATALOG[index]?.id ?? '';

/** Requests for images (the catalog's pages aside). */
const imageRequests = () => harness.picsum.requests.filter((r) => !r.path.startsWith('/v2/list'));

async function runWith(
  faults: (request: RequestInfo) => Fault | undefined,
  input: { count?: number } & Record<string, unknown>,
  options: { env?: Record<string, string>; deadlineMs?: number; latencyMs?: number } = {},
): Promise<BatchResult> {
  harness = await startHarness({ picsum: { faults, latencyMs: options.latencyMs }, env: options.env });
  const { count = 1, ...rest } = input;
  const ids = Array.from({ length: count }, (_, index) => photo(index));
  return runBatch(parseRequest({ ids, width: 40, ...rest }, harness.config), {
    config: harness.config,
    deps: harness.deps,
    deadlineAt: Date.now() + (options.deadlineMs ?? 20_000),
  });
}

async function manifestItems(result: BatchResult) {
  return (JSON.parse((await harness.object(result.manifestKey)).bytes.toString()) as Manifest).items;
}

/** Image keys stored for item `index` (the manifest aside). */
async function storedFor(result: BatchResult, index: number): Promise<string[]> {
  return (await harness.keys()).filter((key) => key.startsWith(`${result.prefix}${index}-`));
}

describe('source faults', () => {
  it('waits for Retry-After on a 429, then succeeds', async () => {
    const result = await runWith(
      (r) => (r.hop === 'base' && r.attempt === 1 ? { kind: 'status', status: 429, retryAfter: '1' } : undefined),
      { count: 1 },
    );

    expect(result.succeeded).toBe(1);
    const [first, second] = imageRequests().filter((r) => r.hop === 'base');
    expect(second?.at).toBeDefined();
    // The retry came no sooner than the server asked (a lower bound, not a timing budget).
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(990);
    expect((await manifestItems(result))[0]?.attempts).toBe(2);
  });

  it('fails at once when Retry-After is longer than the cap, without waiting for it', async () => {
    const result = await runWith(() => ({ kind: 'status', status: 429, retryAfter: '3600' }), { count: 1 });

    expect(result.failures).toMatchObject([{ index: 0, reason: 'source_status', attempts: 1 }]);
    expect(result.failures[0]?.message).toMatch(/Retry-After/);
  });

  it('retries 5xx answers until one succeeds', async () => {
    const result = await runWith(
      (r) => (r.hop === 'image' && r.attempt <= 2 ? { kind: 'status', status: 503 } : undefined),
      { count: 2 },
    );

    expect(result.succeeded).toBe(2);
    expect((await manifestItems(result)).map((item) => item.attempts)).toEqual([3, 3]);
  });

  it('gives up on a persistent 5xx after MAX_ATTEMPTS and stores nothing', async () => {
    const result = await runWith((r) => (r.photo === photo(1) ? { kind: 'status', status: 500 } : undefined), {
      count: 3,
    });

    expect(result.succeeded).toBe(2);
    expect(result.failures).toMatchObject([{ index: 1, reason: 'source_status', attempts: 4 }]);
    expect(await storedFor(result, 1)).toEqual([]);
  });

  it('does not retry a 404', async () => {
    const result = await runWith((r) => (r.hop === 'base' ? { kind: 'status', status: 404 } : undefined), { count: 1 });

    expect(result.failures).toMatchObject([{ reason: 'source_status', attempts: 1 }]);
  });

  it('retries a connection reset', async () => {
    const result = await runWith((r) => (r.hop === 'image' && r.attempt === 1 ? { kind: 'reset' } : undefined), {
      count: 2,
    });

    expect(result.succeeded).toBe(2);
  });

  it('retries a body cut short and stores the whole image', async () => {
    const result = await runWith((r) => (r.hop === 'image' && r.attempt === 1 ? { kind: 'truncate' } : undefined), {
      count: 1,
      width: 400,
    });

    expect(result.succeeded).toBe(1);
    const [key] = await storedFor(result, 0);
    const served = await harness.served(`${harness.config.picsumBaseUrl.origin}/id/${photo(0)}/400/400`);
    expect(sha256((await harness.object(key ?? '')).bytes)).toBe(sha256(served));
  });

  it('leaves no object behind when every body is cut short', async () => {
    const result = await runWith((r) => (r.hop === 'image' ? { kind: 'truncate' } : undefined), {
      count: 2,
      width: 400,
    });

    expect(result.failures).toMatchObject([
      { index: 0, reason: 'source_network', attempts: 4 },
      { index: 1, reason: 'source_network', attempts: 4 },
    ]);
    expect(await harness.keys(result.prefix)).toEqual(documentsOf(result));
  });

  it('times out a response that never comes', async () => {
    const result = await runWith(
      (r) => (r.hop === 'image' ? { kind: 'hang' } : undefined),
      { count: 1 },
      {
        env: { SOURCE_HEADERS_TIMEOUT_MS: '300', MAX_ATTEMPTS: '2' },
      },
    );

    expect(result.failures).toMatchObject([{ reason: 'source_timeout', attempts: 2 }]);
  });

  it('refuses a Content-Type that is not an image, without retrying', async () => {
    const result = await runWith((r) => (r.hop === 'image' ? { kind: 'html' } : undefined), { count: 1 });

    expect(result.failures).toMatchObject([{ reason: 'not_image', attempts: 1 }]);
    expect(await harness.keys(result.prefix)).toEqual(documentsOf(result));
  });

  it('refuses a body over MAX_IMAGE_BYTES, with or without Content-Length', async () => {
    const result = await runWith(
      (r) => (r.hop === 'image' && r.photo === photo(1) ? { kind: 'chunked' } : undefined),
      { count: 2, width: 300 },
      { env: { MAX_IMAGE_BYTES: '2000' } },
    );

    expect(result.failures).toMatchObject([
      { index: 0, reason: 'too_large', attempts: 1 },
      { index: 1, reason: 'too_large', attempts: 1 },
    ]);
    expect(await harness.keys(result.prefix)).toEqual(documentsOf(result));
  });
});

describe('redirects', () => {
  // The harness sends any request for a host off loopback to a local counter, so these tests
  // cannot reach 169.254.169.254 or the internet even when the check they test is broken.
  it.each([
    ['the instance metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a host not in PICSUM_REDIRECT_HOSTS', 'http://images.example.net/id/1/40/40.jpg'],
  ])('refuses a redirect to %s and never contacts it', async (_name, location) => {
    const result = await runWith((r) => (r.hop === 'base' ? { kind: 'redirect', location } : undefined), {
      count: 1,
    });

    expect(result.failures).toMatchObject([{ reason: 'redirect_refused', attempts: 1 }]);
    expect(harness.offLoopback.contacts).toEqual([]);
  });

  it('refuses a redirect to another port on the same host and never contacts it', async () => {
    let contacted = 0;
    const other = createServer((_req, res) => {
      contacted++;
      res.end();
    }).listen(0, '127.0.0.1');
    await once(other, 'listening');
    const port = (other.address() as AddressInfo).port;
    try {
      const result = await runWith(
        (r) => (r.hop === 'base' ? { kind: 'redirect', location: `http://127.0.0.1:${port}/id/1/40/40` } : undefined),
        { count: 1 },
      );

      expect(result.failures).toMatchObject([{ reason: 'redirect_refused' }]);
      expect(contacted).toBe(0);
    } finally {
      other.close();
    }
  });

  it('stops after two hops', async () => {
    const result = await runWith((r) => (r.hop === 'image' ? { kind: 'redirect', location: r.path } : undefined), {
      count: 1,
    });

    expect(result.failures).toMatchObject([{ reason: 'redirect_refused' }]);
    expect(result.failures[0]?.message).toMatch(/More than 2 redirects/);
  });
});

describe('the deadline', () => {
  it('returns a partial result, reporting unfinished items as timeout and storing nothing for them', async () => {
    const result = await runWith(
      (r) =>
        r.hop === 'base' && r.photo !== undefined && [0, 1].every((i) => r.photo !== photo(i))
          ? { kind: 'hang' }
          : undefined,
      { count: 6, concurrency: 6 },
      { deadlineMs: 1_500 },
    );

    expect(result.succeeded).toBe(2);
    expect(result.failures.map((f) => [f.index, f.reason])).toEqual([
      [2, 'timeout'],
      [3, 'timeout'],
      [4, 'timeout'],
      [5, 'timeout'],
    ]);
    expect((await harness.keys()).filter(isImageKey)).toHaveLength(2);
  });

  it('does not start items once the deadline has passed', async () => {
    const result = await runWith(() => undefined, { count: 4, concurrency: 1 }, { deadlineMs: 0 });

    expect(result.failures.map((f) => [f.reason, f.attempts])).toEqual(Array(4).fill(['timeout', 0]));
    expect(harness.picsum.requests).toEqual([]);
  });
});

describe('bugs and cancellation', () => {
  it('fails an item as internal after one attempt when the store path throws a TypeError, and logs it with its stack', async () => {
    harness = await startHarness();
    const logged: unknown[] = [];
    const s3 = {
      send: async (command: unknown, options?: unknown) => {
        if (command instanceof PutObjectCommand && String(command.input.Key).endsWith('.jpg')) {
          throw new TypeError("Cannot read properties of undefined (reading 'headers')");
        }
        return harness.s3.send(command as never, options as never);
      },
    };
    const deps = { ...harness.deps, transfer: s3, log: { error: (...line: unknown[]) => logged.push(line) } };

    const result = await runBatch(parseRequest({ seed: 'bug', width: 40, count: 2 }, harness.config), {
      config: harness.config,
      deps,
      deadlineAt: Date.now() + 20_000,
    });

    expect(result.failures).toMatchObject([
      { index: 0, reason: 'internal', attempts: 1 },
      { index: 1, reason: 'internal', attempts: 1 },
    ]);
    expect(result.failures[0]?.message).toMatch(/TypeError|Cannot read properties/);
    expect(imageRequests().filter((r) => r.hop === 'base')).toHaveLength(2);
    expect(logged).toHaveLength(2);
    expect(JSON.stringify(logged[0])).toMatch(/internal|unexpected/i);
    expect((logged[0] as [string, { error: Error }])[1].error.stack).toMatch(/TypeError/);
  });

  it('retries S3 throttling as store_failed, and stops at MAX_ATTEMPTS', async () => {
    harness = await startHarness({ env: { MAX_ATTEMPTS: '3' } });
    const slowDown = Object.assign(new Error('Please reduce your request rate.'), {
      name: 'SlowDown',
      $fault: 'server',
      $metadata: { httpStatusCode: 503 },
    });
    const s3 = {
      send: async (command: unknown, options?: unknown) => {
        if (command instanceof PutObjectCommand && String(command.input.Key).endsWith('.jpg')) throw slowDown;
        return harness.s3.send(command as never, options as never);
      },
    };

    const result = await runBatch(parseRequest({ seed: 'slow', width: 40, count: 1 }, harness.config), {
      config: harness.config,
      deps: { ...harness.deps, transfer: s3 },
      deadlineAt: Date.now() + 20_000,
    });

    expect(result.failures).toMatchObject([{ index: 0, reason: 'store_failed', attempts: 3 }]);
    expect(result.failures[0]?.message).toMatch(/SlowDown \(HTTP 503\)/);
  });

  it('cancels a run: nothing starts after it, every item is stored or cancelled, and the manifest says which', async () => {
    harness = await startHarness({ picsum: { latencyMs: 30 } });
    const cancel = new AbortController();

    const result = await runBatch(
      parseRequest({ seed: 'cancel', width: 40, count: 60, concurrency: 3 }, harness.config),
      {
        config: harness.config,
        deps: harness.deps,
        deadlineAt: Date.now() + 20_000,
        cancel: cancel.signal,
        onProgress: (progress) => {
          if (progress.succeeded === 5) cancel.abort();
        },
      },
    );

    expect(result.status).toBe('cancelled');
    const items = await manifestItems(result);
    expect(items).toHaveLength(60);
    const stored = (await harness.keys()).filter((key) => key.startsWith(result.prefix) && key.endsWith('.jpg'));
    const recordedStored = items.filter((item) => item.ok).map((item) => (item.ok ? item.key : ''));
    expect(stored.sort()).toEqual(recordedStored.sort());
    expect(result.succeeded).toBeGreaterThanOrEqual(5);
    expect(result.succeeded).toBeLessThan(60);
    for (const item of items) if (!item.ok) expect(item.reason).toBe('cancelled');
    // Nothing was fetched for the items that never started.
    expect(imageRequests().filter((r) => r.hop === 'base').length).toBeLessThan(60);
  });
});
