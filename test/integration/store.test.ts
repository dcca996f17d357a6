import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { runBatch } from '../../lambda/function/orchestration/batch.js';
import { STREAM_THRESHOLD_BYTES } from '../../lambda/function/pipeline/transfer.js';
import { getJson, putJsonIfAbsent } from '../../lambda/function/storage/objects.js';
import { createS3Clients } from '../../lambda/function/storage/s3-client.js';
import {
  documentsOf,
  type Harness,
  isImageKey,
  sha256,
  startHarness,
  TEST_S3_CREDENTIALS,
} from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

const LARGE = STREAM_THRESHOLD_BYTES * 3;

/**
 * An S3 stand-in answering as `answer` says, the harness's config pointed at it and a client for
 * it; `close` ends all three. (It stores nothing: what it answers is the test.)
 */
async function s3StandIn(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(answer);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const config = { ...harness.config, s3Endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  const s3 = createS3Clients(config, { credentials: TEST_S3_CREDENTIALS }).transfer;
  return {
    config,
    deps: { ...harness.deps, s3, transfer: s3 },
    close() {
      s3.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

const run = (input: object, onProgress?: Parameters<typeof runBatch>[1]['onProgress']) =>
  runBatch(parseRequest({ seed: 's', width: 64, ...input }, harness.config), {
    config: harness.config,
    deps: harness.deps,
    deadlineAt: Date.now() + 20_000,
    onProgress,
  });

describe('conditional writes (If-None-Match: *), as idempotency keys use them', () => {
  it('write once: a second write to the key is refused and the first document stays', async () => {
    harness = await startHarness();
    const { s3 } = harness;
    const key = 'images/idempotency/k.json';

    expect(await putJsonIfAbsent(s3, harness.config, key, { n: 1 })).toBe(true);
    expect(await putJsonIfAbsent(s3, harness.config, key, { n: 2 })).toBe(false);
    expect(await getJson(s3, harness.config, key)).toEqual({ n: 1 });
    // The refusal is S3's own answer over the wire: 412 PreconditionFailed.
    const refused = await s3
      .send(new PutObjectCommand({ Bucket: harness.config.bucket, Key: key, Body: '{}', IfNoneMatch: '*' }))
      .catch((error: { name: string; $metadata: { httpStatusCode: number } }) => error);
    expect(refused).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
  });

  it('lets exactly one of many racing writers win', async () => {
    harness = await startHarness();
    const wins = await Promise.all(
      Array.from({ length: 12 }, (_, n) => putJsonIfAbsent(harness.s3, harness.config, 'images/race.json', { n })),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await getJson(harness.s3, harness.config, 'images/race.json')).toEqual({ n: wins.indexOf(true) });
  });
});

describe('the embedded S3 server keeps a PUT all or nothing, as S3 does', () => {
  // Bodies up to 8 MiB wait in memory, larger ones in a temporary file: both ways are checked.
  it.each([
    ['in memory', 1000],
    ['in a temporary file', 9 * 1024 * 1024],
  ])(
    'stores nothing for a body cut short of its Content-Length, and leaves an object it would replace (%s)',
    async (_way, size) => {
      harness = await startHarness();
      const { s3, config } = harness;
      await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: 'images/kept.bin', Body: 'first' }));
      // Half the declared bytes, then the upload is aborted, as the function aborts one whose source fails.
      const cutPut = async (key: string) => {
        const body = new PassThrough();
        const upload = new AbortController();
        const sending = s3.send(
          new PutObjectCommand({ Bucket: config.bucket, Key: key, ContentLength: size, Body: body }),
          { abortSignal: upload.signal },
        );
        body.write(Buffer.alloc(size / 2, 1), () => setTimeout(() => upload.abort(new Error('source went away')), 50));
        return sending;
      };

      await expect(cutPut('images/new.bin')).rejects.toThrow();
      await expect(cutPut('images/kept.bin')).rejects.toThrow();
      // The server notices the closed connections on its own time: look once it has settled them.
      await expect.poll(() => harness.s3server.inFlight(), { interval: 10 }).toBe(0);

      expect(await harness.keys()).toEqual(['images/kept.bin']);
      expect((await harness.object('images/kept.bin')).bytes.toString()).toBe('first');

      // And a whole body of that size is stored byte for byte.
      const whole = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4096) whole[i] = i % 251;
      await s3.send(
        new PutObjectCommand({
          Bucket: config.bucket,
          Key: 'images/whole.bin',
          ContentLength: size,
          Body: Readable.from([whole]),
        }),
      );
      expect(sha256((await harness.object('images/whole.bin')).bytes)).toBe(sha256(whole));
    },
  );
});

describe('the embedded S3 server replaces an object whole, as S3 does', () => {
  it('answers reads racing overwrites with one whole version or the other, and lists the key throughout', async () => {
    harness = await startHarness();
    const { s3, config } = harness;
    const key = 'images/b/manifest.json';
    const versions = [Buffer.alloc(300_000, 'a'), Buffer.alloc(500_000, 'b')];
    const put = (body: Buffer) => s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body }));
    await put(versions[0] as Buffer);

    const seen: string[] = [];
    const writes = (async () => {
      for (let i = 1; i <= 40; i++) await put(versions[i % 2] as Buffer);
    })();
    const reads = (async () => {
      for (let i = 0; i < 80; i++) {
        const [object, keys] = await Promise.all([harness.object(key), harness.keys()]);
        const whole = versions.some((version) => version.equals(object.bytes));
        seen.push(
          whole && keys.includes(key) ? 'whole' : `torn: ${object.bytes.length} bytes, listed ${keys.includes(key)}`,
        );
      }
    })();
    await Promise.all([writes, reads]);

    expect(seen.filter((read) => read !== 'whole')).toEqual([]);
  });
});

describe('storing in an S3-compatible server', () => {
  it('keeps streamed uploads byte-identical, where the SDK default sends aws-chunked framing (refused)', async () => {
    harness = await startHarness();
    const bytes = Buffer.alloc(300_000, 7);
    const put = (client: S3Client, key: string) =>
      client.send(
        new PutObjectCommand({
          Bucket: harness.config.bucket,
          Key: key,
          Body: Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)]),
          ContentLength: bytes.length,
        }),
      );
    const defaultClient = new S3Client({
      region: 'us-east-1',
      endpoint: harness.s3server.endpoint,
      forcePathStyle: true,
      credentials: TEST_S3_CREDENTIALS,
    });

    // S3-compatible servers that take it store the framing inside the object; the embedded S3 refuses it.
    const framed = await put(defaultClient, `${harness.config.keyPrefix}default`).then(
      () => 'stored',
      (error: Error) => error.name,
    );
    await put(harness.s3, `${harness.config.keyPrefix}ours`);

    defaultClient.destroy();
    expect(framed).toBe('NotImplemented');
    expect(sha256((await harness.object(`${harness.config.keyPrefix}ours`)).bytes)).toBe(sha256(bytes));
  });

  it('signs each small upload with the SHA-256 of its bytes, computed once', async () => {
    harness = await startHarness();
    const signedHashes: string[] = [];
    harness.transfer.middlewareStack.add(
      (next) => async (args) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        if (headers['content-type']?.startsWith('image/')) signedHashes.push(headers['x-amz-content-sha256'] ?? '');
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordPayloadHash' },
    );

    const result = await run({ count: 2 });

    const images = (await harness.keys()).filter(isImageKey);
    const stored = await Promise.all(images.map(async (key) => sha256((await harness.object(key)).bytes)));
    expect(result.succeeded).toBe(2);
    expect(signedHashes.sort()).toEqual(stored.sort());
  });

  it('aborts an image upload that S3 leaves unanswered when the deadline comes', async () => {
    harness = await startHarness();
    // An S3 stand-in that takes image PUTs and never answers them, and answers anything else.
    const unanswered: { closed: boolean }[] = [];
    const stuckS3 = await s3StandIn((req, res) => {
      if (req.headers['content-type']?.startsWith('image/')) {
        const put = { closed: false };
        unanswered.push(put);
        req.resume();
        res.on('close', () => {
          put.closed = true;
        });
        return;
      }
      req.resume().on('end', () => res.writeHead(200, { ETag: '"0"' }).end());
    });
    const { config, deps } = stuckS3;

    try {
      const result = await runBatch(parseRequest({ seed: 's', width: 64, count: 3, concurrency: 3 }, config), {
        config,
        deps,
        deadlineAt: Date.now() + 1_000,
      });

      expect(result.failures.map((f) => f.reason)).toEqual(['timeout', 'timeout', 'timeout']);
      // Each upload was cut off (its connection closed), not left to run on after the batch ended.
      expect(unanswered).toHaveLength(3);
      await vi.waitFor(() => expect(unanswered.every((put) => put.closed)).toBe(true));
    } finally {
      stuckS3.close();
    }
  });

  it.each([
    { what: 'copy', imageBytes: undefined },
    { what: 'streamed upload', imageBytes: LARGE },
  ])('aborts a $what that S3 leaves unanswered when the deadline comes', async ({ what, imageBytes }) => {
    harness = await startHarness(imageBytes === undefined ? {} : { picsum: { imageBytes } });
    // An S3 stand-in that never answers a CopyObject or a PUT past the streaming threshold, and
    // answers anything else: a small photo's first item is stored, and its copy hangs.
    const unanswered: { copy: boolean; closed: boolean }[] = [];
    const stuckS3 = await s3StandIn((req, res) => {
      const copy = req.headers['x-amz-copy-source'] !== undefined;
      if (copy || Number(req.headers['content-length']) > STREAM_THRESHOLD_BYTES) {
        const call = { copy, closed: false };
        unanswered.push(call);
        req.resume();
        res.on('close', () => {
          call.closed = true;
        });
        return;
      }
      req.resume().on('end', () => res.writeHead(200, { ETag: '"0"' }).end());
    });
    const { config, deps } = stuckS3;

    try {
      // The same photo twice: the second item is a copy of the first.
      const result = await runBatch(parseRequest({ ids: ['10', '10'], width: 16 }, config), {
        config,
        deps,
        deadlineAt: Date.now() + 1_500,
      });

      // A copy hangs alone; a streamed upload hangs its photo's first item, and the copy fails with it.
      expect(result.failures.map((f) => [f.index, f.reason])).toEqual(
        what === 'copy'
          ? [[1, 'timeout']]
          : [
              [0, 'timeout'],
              [1, 'timeout'],
            ],
      );
      // The call was cut off (its connection closed), not left to run on after the batch ended.
      await vi.waitFor(() =>
        expect(unanswered.map((call) => [call.copy, call.closed])).toEqual([[what === 'copy', true]]),
      );
    } finally {
      stuckS3.close();
    }
  });

  it('retries a copy that S3 answers 200 with no body (S3 abandoned it) as store_failed, never as a bug', async () => {
    harness = await startHarness({ env: { MAX_ATTEMPTS: '2' } });
    // An S3 stand-in that stores nothing: 200 to every request, and an empty 200 to CopyObject.
    const copies: string[] = [];
    const emptyS3 = await s3StandIn((req, res) => {
      if (req.headers['x-amz-copy-source']) copies.push(String(req.headers['x-amz-copy-source']));
      req.resume().on('end', () => res.writeHead(200, { ETag: '"0"' }).end());
    });
    const { config, deps } = emptyS3;
    try {
      // The same photo twice: the second item is a copy of the first.
      const result = await runBatch(parseRequest({ ids: ['10', '10'], width: 16 }, config), {
        config,
        deps,
        deadlineAt: Date.now() + 20_000,
      });

      expect(result.failures).toMatchObject([{ index: 1, reason: 'store_failed', attempts: 2 }]);
      expect(result.failures[0]?.message).toMatch(/CopyObject failed: InternalError \(HTTP 503\): S3 aborted request/);
      expect(copies).toHaveLength(2);
    } finally {
      emptyS3.close();
    }
  });

  it('streams large images straight into PutObject, byte-identical', async () => {
    harness = await startHarness({ picsum: { imageBytes: LARGE } });

    const result = await run({ count: 3, concurrency: 3 });

    expect(result.succeeded).toBe(3);
    expect(result.bytes).toBe(3 * LARGE);
    const key = (await harness.keys()).find((k) => k.includes('/1-')) ?? '';
    const served = await harness.servedFor(key, parseRequest({ width: 64 }, harness.config));
    expect(served.length).toBe(LARGE);
    expect(sha256((await harness.object(key)).bytes)).toBe(sha256(served));
  });

  it('leaves no object behind when a large streamed body is cut short', async () => {
    harness = await startHarness({
      picsum: { imageBytes: LARGE, faults: (r) => (r.hop === 'image' ? { kind: 'truncate' } : undefined) },
      env: { MAX_ATTEMPTS: '2' },
    });

    const result = await run({ count: 2 });

    expect(result.failures).toMatchObject([
      { index: 0, reason: 'source_network', attempts: 2 },
      { index: 1, reason: 'source_network', attempts: 2 },
    ]);
    expect(await harness.keys(result.prefix)).toEqual(documentsOf(result));
  });

  it('fails items cleanly when the S3 server goes away mid-batch, and the process carries on', async () => {
    harness = await startHarness({ picsum: { latencyMs: 30 }, env: { MAX_ATTEMPTS: '2' } });
    let stopping: Promise<void> | undefined;

    const result = await run({ count: 12, concurrency: 2 }, (progress) => {
      if (progress.succeeded === 4 && !stopping) stopping = harness.s3server.close({ hard: true });
    });
    await stopping;

    expect(result.succeeded).toBeGreaterThanOrEqual(4);
    expect(result.succeeded).toBeLessThan(12);
    expect(result.succeeded + result.failed).toBe(12);
    expect(new Set(result.failures.map((f) => f.reason))).toEqual(new Set(['store_failed']));
    expect(result.manifestError).toBeDefined();
  });
});
