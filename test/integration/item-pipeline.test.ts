import { createHash } from 'node:crypto';
import { CopyObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Agent } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { PhotoLedger } from '../../lambda/function/pipeline/photo-ledger.js';
import { indexRange, runItems } from '../../lambda/function/pipeline/run-items.js';
import { createSourcePool, openImage, toSourceError } from '../../lambda/function/source/picsum.js';
import { SourceError } from '../../lambda/function/source/source-error.js';
import { configFor, jpegOf, startHostileSource } from '../support/hostile-source.js';

/**
 * The item pipeline against a source on loopback and an S3 stand-in that records each PutObject
 * (narrow: signing and serialization are proven against s3rver in the integration tests).
 */
let source: Awaited<ReturnType<typeof startHostileSource>> | undefined;
let pool: ReturnType<typeof createSourcePool> | undefined;
afterEach(async () => {
  await pool?.close();
  await source?.close();
  source = undefined;
  pool = undefined;
});

type Answer = Parameters<typeof startHostileSource>[0];

const originalSetTimeout = globalThis.setTimeout;
const originalClearTimeout = globalThis.clearTimeout;

async function run(answer: Answer, input: object, env: Record<string, string> = {}, deadlineMs = 10_000) {
  source = await startHostileSource(answer);
  const config = configFor(source, env);
  pool = createSourcePool(config);
  const puts: PutObjectCommand['input'][] = [];
  const s3 = {
    send: async (command: unknown) => {
      if (command instanceof PutObjectCommand) puts.push(command.input);
      return {};
    },
  };
  const request = parseRequest({ width: 8, seed: 's', ...input }, config);
  const items = await runItems(request, indexRange(0, request.count), {
    config,
    deps: { s3, transfer: s3, source: pool },
    batchId: 'b1',
    deadlineAt: Date.now() + deadlineMs,
  });
  return { items: items.items, puts, config };
}

const image =
  (body = jpegOf(100)): Answer =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length, 'picsum-id': '42' });
    res.end(body);
  };

describe('one item', () => {
  it('is stored once with its key, type, metadata and hash, in one attempt', async () => {
    const body = jpegOf(100);
    const { items, puts } = await run(image(body), { count: 1 });

    expect(items).toMatchObject([{ index: 0, ok: true, key: 'images/b1/0-42.jpg', bytes: 100, attempts: 1 }]);
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({
      Bucket: 'b',
      Key: 'images/b1/0-42.jpg',
      ContentType: 'image/jpeg',
      ContentLength: 100,
      Metadata: { 'picsum-id': '42', 'batch-id': 'b1', 'source-url': `${source?.url}/seed/s-0/8/8` },
    });
    expect(Buffer.from(puts[0]?.Body as Buffer).equals(body)).toBe(true);
  });

  it('asks for an unseeded item without the catalog by a seed of its batch and index, so another run gets the same photo', async () => {
    const { puts } = await run(image(), { count: 2, seed: undefined });

    expect(source?.requests.map((r) => r.url)).toEqual(['/seed/b1-0/8/8', '/seed/b1-1/8/8']);
    expect(puts[0]?.Metadata).toMatchObject({ 'source-url': `${source?.url}/seed/b1-0/8/8` });
  });

  it('reads each body into the one buffer the last gave back, at concurrency 1: memory stays flat', async () => {
    const { puts } = await run(image(), { count: 3, concurrency: 1 });

    const buffers = puts.map((put) => (put.Body as Buffer).buffer);
    expect(buffers).toHaveLength(3);
    expect(new Set(buffers).size).toBe(1);
  });

  it("leaves no timer behind once its items are done: neither an attempt's nor the run's deadline", async () => {
    // Every timer of the run's own length (the deadline: 10 s here) or an attempt's (30 s) is
    // cleared by the time the run returns. Counting all active timers instead also counted the
    // loopback servers' and connections' own, which come and go with the load on the machine.
    const long: unknown[] = [];
    const cleared = new Set<unknown>();
    const setTimer = vi.spyOn(globalThis, 'setTimeout');
    const clearTimer = vi.spyOn(globalThis, 'clearTimeout');
    setTimer.mockImplementation(((callback: () => void, ms?: number, ...args: unknown[]) => {
      const timer = originalSetTimeout(callback, ms, ...(args as []));
      if ((ms ?? 0) >= 5_000) long.push(timer);
      return timer;
    }) as typeof setTimeout);
    clearTimer.mockImplementation(((timer: unknown) => {
      cleared.add(timer);
      originalClearTimeout(timer as NodeJS.Timeout);
    }) as typeof clearTimeout);
    try {
      await run(image(), { count: 5 });
    } finally {
      setTimer.mockRestore();
      clearTimer.mockRestore();
    }

    expect(long.length).toBeGreaterThanOrEqual(6);
    expect(long.filter((timer) => !cleared.has(timer))).toEqual([]);
  });

  it('turns a hostile Picsum-ID into a safe key', async () => {
    const { items } = await run(
      (_req, res) => {
        const body = jpegOf(50);
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 50, 'picsum-id': '../../x y?#' });
        res.end(body);
      },
      { count: 1 },
    );

    expect(items[0]).toMatchObject({ ok: true, key: 'images/b1/0-xy.jpg' });
  });

  it('retries 503 up to MAX_ATTEMPTS, then fails with the count', async () => {
    const { items } = await run((_req, res) => res.writeHead(503).end(), { count: 1 }, { MAX_ATTEMPTS: '3' });

    expect(items[0]).toMatchObject({ ok: false, reason: 'source_status', attempts: 3 });
    expect(source?.requests).toHaveLength(3);
    expect(items[0]?.ok === false && items[0].message).toMatch(/after 3 attempts/);
  });

  it('does not retry a 404', async () => {
    const { items } = await run((_req, res) => res.writeHead(404).end(), { count: 1 });

    expect(items[0]).toMatchObject({ ok: false, reason: 'source_status', attempts: 1 });
    expect(source?.requests).toHaveLength(1);
  });

  // Each fails its item on the first answer, with one request sent: a wait it will not make.
  it.each([
    [
      'schedules no retry past the deadline',
      503,
      '2',
      { MAX_ATTEMPTS: '5' },
      1_000,
      /no time left before the deadline/,
    ],
    [
      'waits no longer than MAX_RETRY_AFTER_MS for a Retry-After',
      429,
      '30',
      { MAX_RETRY_AFTER_MS: '1000' },
      10_000,
      /over the 1000 ms cap/,
    ],
  ])('%s', async (_name, status, retryAfter, env, deadlineMs, message) => {
    const { items } = await run(
      (_req, res) => res.writeHead(status, { 'retry-after': retryAfter }).end(),
      { count: 1 },
      env,
      deadlineMs,
    );

    expect(items[0]).toMatchObject({ ok: false, reason: 'source_status', attempts: 1 });
    expect(items[0]?.ok === false && items[0].message).toMatch(message);
    expect(source?.requests).toHaveLength(1);
  });

  it('ends every item, stored or failed, in index order, and counts progress truly', async () => {
    const { items } = await run(
      (req, res) => {
        if (req.url?.includes('s-3/')) return void res.writeHead(404).end();
        image()(req, res, 0);
      },
      { count: 6, concurrency: 2 },
    );

    expect(items.map((item) => [item.index, item.ok])).toEqual([
      [0, true],
      [1, true],
      [2, true],
      [3, false],
      [4, true],
      [5, true],
    ]);
  });
});

/** openImage against a source answering as `answer`, with the redirect allowlist empty. */
async function open(answer: Answer, format: 'jpg' | 'webp' = 'jpg', env: Record<string, string> = {}) {
  source = await startHostileSource(answer);
  const config = loadConfig({ PICSUM_BASE_URL: source.url, PICSUM_REDIRECT_HOSTS: '', ...env });
  pool = createSourcePool(config);
  return openImage(new URL(`${source.url}/8/8`), config, { source: pool }, AbortSignal.timeout(5000), format);
}

describe('openImage', () => {
  it('follows at most two redirects, each only to an allowed host', async () => {
    source = await startHostileSource((req, res) => {
      const hop = Number(/hop=(\d)/.exec(req.url ?? '')?.[1] ?? 0);
      res.writeHead(302, { location: `/next?hop=${hop + 1}` }).end();
    });
    const config = loadConfig({ PICSUM_BASE_URL: source.url, PICSUM_REDIRECT_HOSTS: '' });
    pool = createSourcePool(config);

    await expect(
      openImage(new URL(`${source.url}/8/8`), config, { source: pool }, AbortSignal.timeout(5000), 'jpg'),
    ).rejects.toMatchObject({ reason: 'redirect_refused', message: expect.stringMatching(/More than 2 redirects/) });
    expect(source.requests).toHaveLength(3);
  });

  it('needs a Location on a redirect', async () => {
    source = await startHostileSource((_req, res) => res.writeHead(301).end());
    const config = loadConfig({ PICSUM_BASE_URL: source.url });
    pool = createSourcePool(config);

    await expect(
      openImage(new URL(`${source.url}/8/8`), config, { source: pool }, AbortSignal.timeout(5000), 'jpg'),
    ).rejects.toMatchObject({ reason: 'source_status', message: expect.stringMatching(/HTTP 301 without Location/) });
  });

  it('refuses a declared length over MAX_IMAGE_BYTES before reading the body', async () => {
    source = await startHostileSource((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 2000 });
      res.end(jpegOf(2000));
    });
    const config = loadConfig({ PICSUM_BASE_URL: source.url, MAX_IMAGE_BYTES: '1999' });
    pool = createSourcePool(config);

    await expect(
      openImage(new URL(`${source.url}/8/8`), config, { source: pool }, AbortSignal.timeout(5000), 'jpg'),
    ).rejects.toMatchObject({ reason: 'too_large' });
  });

  it('asks with GET, its own User-Agent, the format wanted and no compression', async () => {
    const opened = await open(image(), 'webp').catch((error: SourceError) => error);

    expect(opened).toMatchObject({ reason: 'not_image' });
    expect(source?.requests[0]).toMatchObject({
      method: 'GET',
      headers: {
        'user-agent': 'picsum-batch/0.1 (+https://github.com/picsum-batch)',
        accept: 'image/webp',
        'accept-encoding': 'identity',
      },
    });
  });

  it('refuses a Location it cannot parse, quoting it', async () => {
    await expect(open((_req, res) => res.writeHead(302, { location: 'http://[oops/x' }).end())).rejects.toMatchObject({
      reason: 'redirect_refused',
      message: 'Refused redirect to an unparsable Location "http://[oops/x"',
    });
    expect(source?.requests).toHaveLength(1);
  });

  it('reports a source it cannot connect to as a retryable network failure', async () => {
    source = await startHostileSource(image());
    const closed = source.url;
    await source.close();
    source = undefined;
    const config = loadConfig({ PICSUM_BASE_URL: closed });
    pool = createSourcePool(config);

    await expect(
      openImage(new URL(`${closed}/8/8`), config, { source: pool }, AbortSignal.timeout(5000), 'jpg'),
    ).rejects.toMatchObject({ name: 'SourceError', reason: 'source_network', retryable: true });
  });

  it('gives up on headers that never come after SOURCE_HEADERS_TIMEOUT_MS', async () => {
    await expect(open(() => {}, 'jpg', { SOURCE_HEADERS_TIMEOUT_MS: '200' })).rejects.toMatchObject({
      reason: 'source_timeout',
      retryable: true,
    });
  });

  it('keeps at most 32 characters of a Picsum-ID', async () => {
    const opened = await open((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 20, 'picsum-id': 'a'.repeat(40) });
      res.end(jpegOf(20));
    });
    opened.body.resume();

    expect(opened.picsumId).toBe('a'.repeat(32));
  });

  it('opens a body sent without Content-Length as of unknown length', async () => {
    const opened = await open((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'transfer-encoding': 'chunked' });
      res.end(jpegOf(20));
    });
    opened.body.resume();

    expect(opened.contentLength).toBeUndefined();
  });

  it('drops the connection of an image it refuses for its size, reading none of it', async () => {
    let closedUnfinished = false;
    const large: Answer = (_req, res) => {
      res.on('close', () => {
        closedUnfinished = !res.writableFinished;
      });
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 10_000_000 });
      res.write(jpegOf(1000));
    };

    await expect(open(large, 'jpg', { MAX_IMAGE_BYTES: '1000000' })).rejects.toMatchObject({ reason: 'too_large' });
    await expect.poll(() => closedUnfinished).toBe(true);
  });
});

describe('the source pool', () => {
  it('makes one dispatcher on first use, and closes it', async () => {
    const pool = createSourcePool(loadConfig({}));
    const first = pool.dispatcher() as Agent;

    expect(pool.dispatcher()).toBe(first);
    expect(first.closed).toBe(false);
    await pool.close();
    expect(first.closed).toBe(true);
  });

  it('closes without having made one', async () => {
    await expect(createSourcePool(loadConfig({})).close()).resolves.toBeUndefined();
  });
});

describe('toSourceError', () => {
  it('maps timeouts and network failures to retryable source errors, and leaves aborts alone', () => {
    expect(toSourceError(Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toMatchObject({
      reason: 'source_timeout',
      retryable: true,
    });
    expect(toSourceError(Object.assign(new Error('r'), { code: 'ECONNRESET' }))).toMatchObject({
      reason: 'source_network',
      retryable: true,
      message: 'Source connection failed: r (ECONNRESET)',
    });
    const abort = Object.assign(new Error('a'), { name: 'AbortError' });
    expect(toSourceError(abort)).toBe(abort);
    const undiciAbort = Object.assign(new Error('a'), { code: 'UND_ERR_ABORTED' });
    expect(toSourceError(undiciAbort)).toBe(undiciAbort);
    const known = new SourceError('not_image', 'x');
    expect(toSourceError(known)).toBe(known);
  });
});

describe('openImage checks what the headers promise', () => {
  const respond =
    (status: number, headers: Record<string, string | number>, body: Buffer = Buffer.alloc(0)): Answer =>
    (_req, res) => {
      res.writeHead(status, headers);
      res.end(body);
    };

  it('takes the format asked for, whatever the case and parameters, and reports the canonical type', async () => {
    const opened = await open(
      respond(200, { 'content-type': ' Image/WEBP ; q=1', 'content-length': 20 }, jpegOf(20)),
      'webp',
    );
    opened.body.resume();

    expect(opened).toMatchObject({ contentType: 'image/webp', contentLength: 20, picsumId: 'unknown' });
    expect(source?.requests[0]?.headers).toMatchObject({ accept: 'image/webp', 'accept-encoding': 'identity' });
  });

  it.each([
    ['no Content-Type', {}, /got Content-Type ""/],
    ['another image type', { 'content-type': 'image/png' }, /Expected image\/jpeg .* got Content-Type "image\/png"/],
    [
      'a compressed body',
      { 'content-type': 'image/jpeg', 'content-encoding': 'GZIP' },
      /Refused Content-Encoding "gzip"/,
    ],
    ['an empty body', { 'content-type': 'image/jpeg', 'content-length': 0 }, /Empty body/],
  ])('refuses %s as not_image', async (_name, headers, message) => {
    await expect(open(respond(200, headers, Buffer.alloc(0)))).rejects.toMatchObject({
      reason: 'not_image',
      message: expect.stringMatching(message),
    });
  });

  it('takes identity encoding as the identity', async () => {
    const opened = await open(
      respond(
        200,
        { 'content-type': 'image/jpeg', 'content-encoding': ' Identity ', 'content-length': 20 },
        jpegOf(20),
      ),
    );
    opened.body.resume();
    expect(opened.contentLength).toBe(20);
  });

  it('follows 300 and 399 as redirects, and answers 304 and 400 as statuses', async () => {
    for (const status of [300, 399]) {
      await pool?.close();
      await source?.close();
      await expect(open(respond(status, { location: 'http://elsewhere.example/' }))).rejects.toMatchObject({
        reason: 'redirect_refused',
      });
    }
    for (const status of [304, 400]) {
      await pool?.close();
      await source?.close();
      await expect(open(respond(status, {}))).rejects.toMatchObject({
        reason: 'source_status',
        message: expect.stringMatching(new RegExp(`^HTTP ${status} from 127\\.0\\.0\\.1:\\d+$`)),
        retryable: false,
      });
    }
  });

  it('refuses a declared length over the limit, and takes one at it', async () => {
    await expect(
      open(respond(200, { 'content-type': 'image/jpeg', 'content-length': 101 }, jpegOf(101)), 'jpg', {
        MAX_IMAGE_BYTES: '100',
      }),
    ).rejects.toMatchObject({ reason: 'too_large', message: 'Image of 101 bytes is over MAX_IMAGE_BYTES (100)' });
    await pool?.close();
    await source?.close();
    const atLimit = await open(
      respond(200, { 'content-type': 'image/jpeg', 'content-length': 100 }, jpegOf(100)),
      'jpg',
      {
        MAX_IMAGE_BYTES: '100',
      },
    );
    atLimit.body.resume();
    expect(atLimit.contentLength).toBe(100);
  });
});

describe('a run of items', () => {
  it('counts progress truly: each item once, as stored or failed', async () => {
    source = await startHostileSource((req, res) => {
      if (req.url?.includes('s-2/')) return void res.writeHead(404).end();
      image()(req, res, 0);
    });
    const config = loadConfig({ BUCKET_NAME: 'b', PICSUM_BASE_URL: source.url, PICSUM_REDIRECT_HOSTS: '' });
    pool = createSourcePool(config);
    const seen: unknown[] = [];

    await runItems(parseRequest({ count: 4, seed: 's', width: 8, concurrency: 1 }, config), indexRange(0, 4), {
      config,
      deps: { s3: { send: async () => ({}) as never }, transfer: { send: async () => ({}) as never }, source: pool },
      batchId: 'b',
      deadlineAt: Date.now() + 10_000,
      onProgress: (progress) => seen.push(progress),
    });

    expect(seen).toEqual([
      { done: 1, succeeded: 1, failed: 0, total: 4 },
      { done: 2, succeeded: 2, failed: 0, total: 4 },
      { done: 3, succeeded: 2, failed: 1, total: 4 },
      { done: 4, succeeded: 3, failed: 1, total: 4 },
    ]);
  });

  it('starts nothing once cancelled, or past its deadline, and says which', async () => {
    source = await startHostileSource(image());
    const config = loadConfig({ BUCKET_NAME: 'b', PICSUM_BASE_URL: source.url, PICSUM_REDIRECT_HOSTS: '' });
    pool = createSourcePool(config);
    const request = parseRequest({ count: 3, width: 8 }, config);
    const base = {
      config,
      deps: { s3: { send: async () => ({}) as never }, transfer: { send: async () => ({}) as never }, source: pool },
      batchId: 'b',
    };

    const cancelled = await runItems(request, indexRange(1, 3), {
      ...base,
      deadlineAt: Date.now() + 10_000,
      cancel: AbortSignal.abort(),
    });
    const late = await runItems(request, indexRange(0, 3), { ...base, deadlineAt: Date.now() });

    expect(cancelled.cancelled).toBe(true);
    expect(cancelled.items.map((item) => [item.index, item.ok === false && item.reason])).toEqual([
      [1, 'cancelled'],
      [2, 'cancelled'],
    ]);
    expect(late.cancelled).toBe(false);
    expect(late.items.every((item) => !item.ok && item.reason === 'timeout' && item.attempts === 0)).toBe(true);
    expect(source.requests).toHaveLength(0);
  });
});

describe('large images, streamed into S3', () => {
  /** A sender that reads each streamed body to its end, as S3 would, and keeps what arrived. */
  function consuming() {
    const received: { key: string; bytes: Buffer; declared: number; streamed: boolean; error?: unknown }[] = [];
    const send = async (command: unknown, options?: { abortSignal?: AbortSignal }) => {
      if (!(command instanceof PutObjectCommand)) return {} as never;
      const chunks: Buffer[] = [];
      const entry = {
        key: String(command.input.Key),
        bytes: Buffer.alloc(0),
        declared: Number(command.input.ContentLength),
        streamed: !Buffer.isBuffer(command.input.Body),
      };
      received.push(entry);
      try {
        for await (const chunk of command.input.Body as AsyncIterable<Buffer>) {
          if (options?.abortSignal?.aborted) throw options.abortSignal.reason;
          chunks.push(chunk);
        }
      } catch (error) {
        Object.assign(entry, { error, bytes: Buffer.concat(chunks) });
        throw error;
      }
      entry.bytes = Buffer.concat(chunks);
      return {} as never;
    };
    return { received, s3: { send: send as (command: unknown) => Promise<never> } };
  }

  async function stream(answer: Answer, count = 1, concurrency = 1) {
    source = await startHostileSource(answer);
    const config = configFor(source, { MAX_ATTEMPTS: '1' });
    pool = createSourcePool(config);
    const { received, s3 } = consuming();
    const request = parseRequest({ count, concurrency, width: 8, seed: 'L' }, config);
    const run = await runItems(request, indexRange(0, count), {
      config,
      deps: { s3, transfer: s3, source: pool },
      batchId: 'b',
      deadlineAt: Date.now() + 10_000,
    });
    return { items: run.items, received };
  }

  it('sends every byte, declared up front, and records the hash of what passed', async () => {
    const body = jpegOf(1_500_000, 0x55);
    const { items, received } = await stream(image(body));

    expect(received).toHaveLength(1);
    expect(received[0]?.declared).toBe(body.length);
    expect(received[0]?.bytes.equals(body)).toBe(true);
    expect(items[0]).toMatchObject({
      ok: true,
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      attempts: 1,
    });
  });

  it('streams every large image, one after another at concurrency 1, each giving its upload slot back', async () => {
    const body = jpegOf(1_200_000, 0x57);
    const { items, received } = await stream(image(body), 3);

    expect(items.map((item) => item.ok)).toEqual([true, true, true]);
    expect(received.map((entry) => entry.streamed)).toEqual([true, true, true]);
    // Streamed, its body is whole when its write ends.
    expect(items.every((item) => item.downloadedMs !== undefined && item.downloadedMs === item.storedMs)).toBe(true);
  });

  it('never sends the last bytes of a body the source cuts short, and fails the item as source_network', async () => {
    const body = jpegOf(1_500_000, 0x56);
    const { items, received } = await stream((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length });
      res.write(body.subarray(0, 1_200_000), () => res.socket?.destroy());
    });

    expect(items[0]).toMatchObject({ ok: false, reason: 'source_network', attempts: 1 });
    expect(received[0]?.bytes.length ?? 0).toBeLessThan(body.length);
  });

  it('fails a streamed body that is not the format asked for, sending it short', async () => {
    const body = Buffer.alloc(1_200_000, 0x3c);
    const { items, received } = await stream(image(body));

    expect(items[0]).toMatchObject({ ok: false, reason: 'not_image' });
    expect(received.every((entry) => entry.bytes.length < body.length)).toBe(true);
  });
});

describe('an unexpected error', () => {
  it('fails its item as internal after one try, logged with the item and the error', async () => {
    source = await startHostileSource(image());
    const config = configFor(source, { MAX_ATTEMPTS: '4' });
    pool = createSourcePool(config);
    const logged: unknown[][] = [];
    const bug = new TypeError('undefined is not a function');

    const run = await runItems(parseRequest({ count: 1, width: 8 }, config), indexRange(0, 1), {
      config,
      deps: {
        s3: { send: async () => Promise.reject(bug) },
        transfer: { send: async () => Promise.reject(bug) },
        source: pool,
        log: { error: (...line) => logged.push(line) },
      },
      batchId: 'b',
      deadlineAt: Date.now() + 10_000,
    });

    expect(run.items[0]).toMatchObject({
      ok: false,
      reason: 'internal',
      attempts: 1,
      message: 'Unexpected error: undefined is not a function',
    });
    expect(logged).toEqual([['Item failed on an unexpected error', { index: 0, error: bug }]]);
  });
});

describe('items of one photo', () => {
  /** Items whose photos are `ids` (by index), with credit, one download per photo, copies recorded. */
  async function runPhotos(
    ids: string[],
    answer: Answer,
    copy: (input: unknown) => Promise<unknown> = async () => ({}),
    options: { concurrency?: number; cancel?: AbortSignal } = {},
  ) {
    source = await startHostileSource(answer);
    const config = configFor(source, {});
    pool = createSourcePool(config);
    const puts: PutObjectCommand['input'][] = [];
    const copies: CopyObjectCommand['input'][] = [];
    const s3 = {
      send: async (command: unknown) => {
        if (command instanceof PutObjectCommand) puts.push(command.input);
        if (command instanceof CopyObjectCommand) {
          copies.push(command.input);
          return copy(command.input);
        }
        return {};
      },
    };
    const request = parseRequest({ width: 8, ids, concurrency: options.concurrency }, config);
    const photos = (index: number) => {
      const id = ids[index] ?? '';
      return { id, author: `Author ${id}`, url: `https://example.test/${id}` };
    };
    const run = await runItems(request, indexRange(0, request.count), {
      config,
      deps: { s3, transfer: s3, source: pool },
      batchId: 'b1',
      deadlineAt: Date.now() + 10_000,
      photos,
      ledger: new PhotoLedger(),
      ...(options.cancel ? { cancel: options.cancel } : {}),
    });
    return { items: run.items, puts, copies, requests: source.requests };
  }
  const byId: Answer = (req, res) => {
    const id = /^\/id\/(\d+)\//.exec(req.url ?? '')?.[1] ?? '';
    const body = jpegOf(60 + Number(id));
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length, 'picsum-id': id });
    res.end(body);
  };

  it('downloads a photo once; its later items are server-side copies of the first, with its bytes, hash and credit', async () => {
    const { items, puts, copies, requests } = await runPhotos(['7', '7', '8', '7'], byId);

    expect(requests.map((r) => r.url)).toEqual(['/id/7/8/8', '/id/8/8/8']);
    expect(puts.map((put) => put.Key)).toEqual(['images/b1/0-7.jpg', 'images/b1/2-8.jpg']);
    const first = items[0] as Extract<(typeof items)[number], { ok: true }>;
    expect(items[1]).toMatchObject({
      ok: true,
      key: 'images/b1/1-7.jpg',
      bytes: first.bytes,
      sha256: first.sha256,
      copyOf: 0,
      author: 'Author 7',
      page: 'https://example.test/7',
      attempts: 1,
    });
    expect(items[3]).toMatchObject({ ok: true, key: 'images/b1/3-7.jpg', copyOf: 0 });
    expect(copies).toEqual([
      expect.objectContaining({
        Bucket: 'b',
        Key: 'images/b1/1-7.jpg',
        CopySource: 'b/images/b1/0-7.jpg',
        MetadataDirective: 'REPLACE',
        ContentType: 'image/jpeg',
        Metadata: {
          'picsum-id': '7',
          'source-url': `${source?.url}/id/7/8/8`,
          'batch-id': 'b1',
          'photo-author': 'Author 7',
          'photo-page': 'https://example.test/7',
        },
      }),
      expect.objectContaining({ Key: 'images/b1/3-7.jpg', CopySource: 'b/images/b1/0-7.jpg' }),
    ]);
  });

  it("fails a photo's later items with its first item's reason, copying nothing", async () => {
    const { items, copies } = await runPhotos(['9', '9'], (_req, res) => res.writeHead(404).end());

    expect(items[0]).toMatchObject({ ok: false, reason: 'source_status' });
    expect(items[1]).toMatchObject({
      ok: false,
      reason: 'source_status',
      message: 'Photo 9 was not stored: item 0 of it failed (source_status)',
    });
    expect(copies).toEqual([]);
  });

  it('tries a copy S3 fails for a moment again, and counts the attempts', async () => {
    let failures = 1;
    const flaky = async () => {
      if (failures-- > 0) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      return {};
    };

    const { items, copies } = await runPhotos(['5', '5'], byId, flaky);

    expect(copies).toHaveLength(2);
    expect(items[1]).toMatchObject({ ok: true, copyOf: 0, attempts: 2 });
  });

  it('fails a copy S3 refuses for good as store_failed, recording no key', async () => {
    const denied = async () => {
      throw Object.assign(new Error('Access Denied'), {
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
      });
    };

    const { items } = await runPhotos(['5', '5'], byId, denied);

    expect(items[0]).toMatchObject({ ok: true });
    expect(items[1]).toMatchObject({ ok: false, reason: 'store_failed', attempts: 1 });
    expect(items[1]).not.toHaveProperty('key');
  });

  it('gives each copy its upload slot back: many copies of one photo at concurrency 1 all end, each with its timeline', async () => {
    // Each copy takes a while in S3: its timeline shows nothing to download, then the copy's write.
    const slowCopy = () => new Promise((resolve) => setTimeout(() => resolve({}), 20));
    const { items, copies } = await runPhotos(['5', '5', '5', '5', '5'], byId, slowCopy, { concurrency: 1 });

    expect(copies).toHaveLength(4);
    expect(items.every((item) => item.ok)).toBe(true);
    for (const item of items.slice(1)) {
      expect(item).toMatchObject({ copyOf: 0, startMs: expect.any(Number), downloadedMs: expect.any(Number) });
      expect(item.storedMs).toBeGreaterThan(item.downloadedMs ?? Number.POSITIVE_INFINITY);
    }
  });

  it('copies nothing more once the run is cancelled: a copy waiting for its slot ends cancelled', async () => {
    const cancel = new AbortController();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The first copy holds the only upload slot until the run is cancelled.
    const held = async () => {
      if (!cancel.signal.aborted) {
        cancel.abort();
        setTimeout(release, 50);
        await gate;
      }
      return {};
    };

    const { items, copies } = await runPhotos(['5', '5', '5'], byId, held, { concurrency: 1, cancel: cancel.signal });

    expect(copies).toHaveLength(1);
    expect(items[1]).toMatchObject({ ok: true, copyOf: 0 });
    expect(items[2]).toMatchObject({ ok: false, reason: 'cancelled' });
  });
});
