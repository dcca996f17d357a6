import { CopyObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { Manifest } from '../../lambda/function/contracts/result.js';
import { BatchService } from '../../lambda/function/orchestration/batch-service.js';
import {
  aggregateBatch,
  chunkedProgress,
  planBatch,
  recordFailure,
  runChunk,
} from '../../lambda/function/orchestration/chunked/index.js';
import { forgetCatalog } from '../../lambda/function/orchestration/photos.js';
import { chunkConcurrency } from '../../lambda/function/orchestration/plan.js';
import { createSourcePool } from '../../lambda/function/source/picsum.js';
import { jpegOf, startHostileSource } from '../support/hostile-source.js';
import { runOnLocalEngine } from '../support/local-engine.js';
import { memoryS3 } from '../support/memory-s3.js';

/** The chunked path on an in-memory S3 stand-in and a loopback source that fails item 4. */
let source: Awaited<ReturnType<typeof startHostileSource>> | undefined;
let pool: ReturnType<typeof createSourcePool> | undefined;
afterEach(async () => {
  await pool?.close();
  await source?.close();
  // The catalog is cached by the source's URL, and a later source may get an earlier one's port.
  forgetCatalog();
});

/** Photos 1, 2 and 3, as a catalog lists them. */
const CATALOG = ['1', '2', '3'].map((id) => ({
  id,
  author: `A${id}`,
  width: 10,
  height: 10,
  url: `https://x.test/${id}`,
}));

async function setUp(
  options: { failing?: () => boolean; catalog?: boolean; answer?: Parameters<typeof startHostileSource>[0] } = {},
) {
  const failing = options.failing ?? (() => true);
  source = await startHostileSource(
    options.answer ??
      ((req, res) => {
        if (req.url?.includes('/c-4/') && failing()) return void res.writeHead(404).end();
        const id = /^\/id\/(\d+)\//.exec(req.url ?? '')?.[1];
        const body = jpegOf(id === undefined ? 64 : 60 + Number(id));
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length, 'picsum-id': id ?? '1' });
        res.end(body);
      }),
    options.catalog ? { catalog: CATALOG } : {},
  );
  const config = loadConfig({
    BUCKET_NAME: 'b',
    PICSUM_BASE_URL: source.url,
    PICSUM_REDIRECT_HOSTS: '',
    MAX_COUNT: '100',
    SYNC_MAX_COUNT: '2',
    CHUNK_SIZE: '3',
  });
  pool = createSourcePool(config);
  const s3 = memoryS3();
  const json = (key: string) => JSON.parse(s3.objects.get(key) ?? 'null');
  return { config, s3, json, options: { config, deps: { s3, transfer: s3, source: pool } } };
}

/** `send` with each GetObject held 5 ms, counting how many are open at once. */
function slowReads(send: ReturnType<typeof memoryS3>['send']) {
  let open = 0;
  let most = 0;
  const reads = async (command: unknown) => {
    if (!(command instanceof GetObjectCommand)) return send(command);
    open++;
    most = Math.max(most, open);
    await new Promise((resolve) => setTimeout(resolve, 5));
    open--;
    return send(command);
  };
  return { send: reads as typeof send, most: () => most };
}

const job = (config: ReturnType<typeof loadConfig>) => ({
  batchId: 'cb',
  request: parseRequest({ count: 7, width: 8, seed: 'c', concurrency: 4 }, config),
});

describe('the chunked path', () => {
  it('plans even chunks under the source limit and records the batch as running in its execution, with its request', async () => {
    const { config, json, options } = await setUp();

    const plan = await planBatch(job(config), 2, options);

    expect(plan.chunks).toEqual([
      { chunk: 0, start: 0, end: 3 },
      { chunk: 1, start: 3, end: 5 },
      { chunk: 2, start: 5, end: 7 },
    ]);
    expect(plan).toMatchObject({ batchId: 'cb', parallelChunks: 2, concurrency: 4 });
    expect(json('images/cb/status.json')).toEqual({
      batchId: 'cb',
      status: 'running',
      requested: 7,
      done: 0,
      succeeded: 0,
      failed: 0,
      execution: 'cb',
      chunks: { total: 3, done: 0 },
      plannedAt: plan.startedAt,
      request: plan.request,
      startedAt: plan.startedAt,
    });
  });

  it('runs a chunk once: a second delivery returns its record and fetches nothing', async () => {
    const { config, json, options } = await setUp();
    const plan = await planBatch(job(config), 1, options);
    const task = {
      batchId: 'cb',
      request: plan.request,
      concurrency: 2,
      startedAt: plan.startedAt,
      chunk: plan.chunks[1] as never,
    };

    const first = await runChunk(task, { ...options, deadlineAt: Date.now() + 10_000 });
    const fetched = source?.requests.length;
    const second = await runChunk(task, { ...options, deadlineAt: Date.now() + 10_000 });

    expect(first).toMatchObject({ chunk: 1, start: 3, end: 5, done: 2, succeeded: 1, failed: 1, bytes: 64 });
    expect(second).toEqual(first);
    expect(source?.requests.length).toBe(fetched);
    expect(json('images/cb/progress/1.json')).toEqual({ chunk: 1, done: 2, succeeded: 1, failed: 1, finished: true });
    expect(json('images/cb/chunks/1.json').items.map((item: { index: number }) => item.index)).toEqual([3, 4]);
  });

  it('aggregates into one manifest and a done status; a chunk that left no record fails as chunk_failed', async () => {
    const { config, json, options } = await setUp();
    const plan = await planBatch(job(config), 1, options);
    for (const chunk of [plan.chunks[0], plan.chunks[2]]) {
      await runChunk(
        { batchId: 'cb', request: plan.request, concurrency: 2, startedAt: plan.startedAt, chunk: chunk as never },
        {
          ...options,
          deadlineAt: Date.now() + 10_000,
        },
      );
    }
    const running = await chunkedProgress(json('images/cb/status.json'), options);

    const { result, missingChunks } = await aggregateBatch(plan, options);

    expect(running).toMatchObject({
      status: 'running',
      done: 5,
      succeeded: 5,
      failed: 0,
      chunks: { total: 3, done: 2 },
    });
    expect(missingChunks).toEqual([1]);
    expect(result).toMatchObject({
      requested: 7,
      succeeded: 5,
      failed: 2,
      failureCounts: { chunk_failed: 2 },
      // Per chunk (the plan's 4) x chunks at once (1).
      concurrency: 4,
      status: 'done',
    });
    const manifest = json(result.manifestKey) as Manifest;
    expect(manifest.items.map((item) => item.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(json('images/cb/status.json')).toMatchObject({ status: 'done', result: { succeeded: 5 } });
    // Nothing was left to the aggregate: the batch ended with its last chunk's last write.
    expect(result.finishedAt).toBe(json('images/cb/chunks/2.json').summary.finishedAt);
  });

  it('says a catalog that could not be read over one that could, when chunks chose their photos differently', async () => {
    const { config, s3, options } = await setUp();
    const plan = await planBatch(job(config), 1, options);
    const record = (n: number, catalog: object) => ({
      summary: {
        ...plan.chunks[n],
        done: 0,
        succeeded: 0,
        failed: 0,
        bytes: 0,
        startedAt: plan.startedAt,
        finishedAt: plan.startedAt,
        catalog,
      },
      items: [],
    });
    s3.objects.set('images/cb/chunks/0.json', JSON.stringify(record(0, { photos: 993 })));
    s3.objects.set('images/cb/chunks/1.json', JSON.stringify(record(1, { unavailable: 'HTTP 503' })));
    s3.objects.set('images/cb/chunks/2.json', JSON.stringify(record(2, { photos: 993 })));

    const { result } = await aggregateBatch(plan, options);

    expect(result.catalog).toEqual({ unavailable: 'HTTP 503' });
  });

  it('runs plan, chunks and aggregate in this process for npm start, with progress across chunks', async () => {
    const { config, options } = await setUp();
    const seen: { done: number; total: number }[] = [];

    const result = await runOnLocalEngine(job(config), {
      ...options,
      deadlineAt: Date.now() + 10_000,
      onProgress: (progress) => seen.push(progress),
    });

    expect(result).toMatchObject({ requested: 7, succeeded: 6, failed: 1, failureCounts: { source_status: 1 } });
    expect(seen.map((progress) => progress.done)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seen.every((progress) => progress.total === 7)).toBe(true);
  });

  it('records a batch the state machine gave up on, with its error and a bounded cause', async () => {
    const { json, options } = await setUp();

    const { status, again } = await recordFailure(
      {
        kind: 'picsum-batch.failed',
        batchId: 'cb',
        requested: 7,
        failure: { Error: 'States.Timeout', Cause: 'c'.repeat(5000) },
      },
      options,
    );
    const { status: unnamed } = await recordFailure(
      { kind: 'picsum-batch.failed', batchId: 'cx', requested: 1, failure: {} },
      options,
    );

    expect(status).toMatchObject({ status: 'failed', error: 'States.Timeout', requested: 7 });
    // The first failure of a batch is news; the same failure delivered again is not.
    expect(again).toBeUndefined();
    const delivered = {
      kind: 'picsum-batch.failed',
      batchId: 'cb',
      requested: 7,
      failure: { Error: 'States.Timeout' },
    } as const;
    expect((await recordFailure(delivered, options)).again).toBe(true);
    expect(status.status === 'failed' && status.cause).toHaveLength(1000);
    expect(json('images/cb/status.json')).toMatchObject({ status: 'failed', error: 'States.Timeout' });
    expect(unnamed).toMatchObject({ error: 'Unknown', cause: '' });
  });
});

describe('the chunked path, counted exactly', () => {
  const chunkOf = (plan: Awaited<ReturnType<typeof planBatch>>, n: number) => ({
    batchId: 'cb',
    request: plan.request,
    concurrency: plan.concurrency,
    startedAt: plan.startedAt,
    chunk: plan.chunks[n] as (typeof plan.chunks)[number],
  });

  it('runs no more chunks at once than there are, and shares the source among them', async () => {
    const { config, options } = await setUp();
    const wide = { batchId: 'cb', request: parseRequest({ count: 7, width: 8, concurrency: 60 }, config) };

    const plan = await planBatch(wide, 10, options);

    expect(plan.parallelChunks).toBe(3);
    expect(plan.concurrency).toBe(chunkConcurrency(60, 3, config));
    expect(plan.concurrency).toBe(42);
  });

  it('reports the concurrency of all chunks at once, and elapsed time from plan to last write', async () => {
    const { config, options } = await setUp();
    const plan = await planBatch(job(config), 2, options);
    for (const n of [0, 1, 2]) await runChunk(chunkOf(plan, n), { ...options, deadlineAt: Date.now() + 10_000 });

    const { result } = await aggregateBatch(plan, options);

    expect(result.concurrency).toBe(plan.concurrency * 2);
    expect(result.elapsedMs).toBe(Date.parse(result.finishedAt) - Date.parse(result.startedAt));
  });

  it('says a batch with a cancelled chunk was cancelled, and one without was done', async () => {
    const { config, options } = await setUp();
    const plan = await planBatch(job(config), 1, options);
    await runChunk(chunkOf(plan, 0), { ...options, deadlineAt: Date.now() + 10_000 });
    const cancelled = await runChunk(chunkOf(plan, 1), {
      ...options,
      deadlineAt: Date.now() + 10_000,
      cancel: AbortSignal.abort(),
    });
    await runChunk(chunkOf(plan, 2), { ...options, deadlineAt: Date.now() + 10_000 });

    const { result } = await aggregateBatch(plan, options);

    expect(cancelled).toMatchObject({ done: 2, succeeded: 0, failed: 2 });
    expect(result).toMatchObject({ status: 'cancelled', succeeded: 5, failureCounts: { cancelled: 2 } });
  });

  it('writes only whole progress records: the chunk and its counts', async () => {
    const { config, s3, options } = await setUp();
    const written: unknown[] = [];
    const send = s3.send;
    const recording = async (command: unknown) => {
      if (command instanceof PutObjectCommand && String(command.input.Key).includes('/progress/')) {
        written.push(JSON.parse(String(command.input.Body)));
      }
      return send(command);
    };
    const plan = await planBatch(job(config), 1, options);

    await runChunk(chunkOf(plan, 1), {
      ...options,
      deps: { ...options.deps, s3: { send: recording as typeof send } },
      deadlineAt: Date.now() + 10_000,
    });

    expect(written.length).toBeGreaterThanOrEqual(2);
    for (const record of written) {
      expect(record).toEqual({
        chunk: 1,
        done: expect.any(Number),
        succeeded: expect.any(Number),
        failed: expect.any(Number),
        ...((record as { total?: number }).total === undefined ? {} : { total: 2 }),
        ...((record as { finished?: true }).finished ? { finished: true } : {}),
      });
    }
  });

  it('sums progress over the records it can read, counting finished chunks only', async () => {
    const { config, s3, json, options } = await setUp();
    const plan = await planBatch(job(config), 1, options);
    await runChunk(chunkOf(plan, 1), { ...options, deadlineAt: Date.now() + 10_000 });
    s3.objects.set('images/cb/progress/2.json', JSON.stringify({ chunk: 2, done: 1, succeeded: 1, failed: 0 }));
    const send = s3.send;
    // A progress record listed, then gone before it is read.
    const phantom = async (command: unknown) => {
      if (command instanceof ListObjectsV2Command) {
        const listed = (await send(command)) as { Contents: { Key: string }[] };
        return { Contents: [...listed.Contents, { Key: 'images/cb/progress/0.json' }] };
      }
      return send(command);
    };

    const running = await chunkedProgress(json('images/cb/status.json'), {
      ...options,
      deps: { ...options.deps, s3: { send: phantom as typeof send } },
    });
    const bare = await chunkedProgress(
      { batchId: 'none', status: 'running', requested: 1, done: 0, succeeded: 0, failed: 0 },
      options,
    );

    expect(running).toMatchObject({ done: 3, succeeded: 2, failed: 1, chunks: { total: 3, done: 1 } });
    expect(bare).toMatchObject({ done: 0, chunks: { total: 0, done: 0 } });
  });

  it('reads at most 16 chunk records at once', async () => {
    const { config, s3, options } = await setUp();
    const plan = await planBatch({ batchId: 'cm', request: parseRequest({ count: 60, width: 8 }, config) }, 1, options);
    const reads = slowReads(s3.send);

    await aggregateBatch(plan, { ...options, deps: { ...options.deps, s3: { send: reads.send } } });

    expect(plan.chunks).toHaveLength(20);
    expect(reads.most()).toBe(16);
  });

  it('times every item from the batch’s start, across chunks', async () => {
    const { config, json, options } = await setUp();

    const result = await runOnLocalEngine(job(config), { ...options, deadlineAt: Date.now() + 10_000 });

    const { items } = json(result.manifestKey) as Manifest;
    // Each chunk's items on the batch's clock: none starts before the plan, none ends after the batch.
    for (const item of items.filter((each) => each.ok)) {
      expect(item.startMs ?? -1).toBeGreaterThanOrEqual(0);
      expect(item.storedMs ?? -1).toBeGreaterThanOrEqual(item.startMs ?? 0);
    }
    expect(Math.max(...items.map((item) => item.storedMs ?? 0))).toBeLessThanOrEqual(result.elapsedMs + 5);
  });

  it('reads at most 16 progress records at once', async () => {
    const { s3, options } = await setUp();
    for (let chunk = 0; chunk < 20; chunk++) {
      s3.objects.set(`images/cp/progress/${chunk}.json`, JSON.stringify({ chunk, done: 1, succeeded: 1, failed: 0 }));
    }
    const reads = slowReads(s3.send);

    const running = await chunkedProgress(
      {
        batchId: 'cp',
        status: 'running',
        requested: 20,
        done: 0,
        succeeded: 0,
        failed: 0,
        chunks: { total: 20, done: 0 },
      },
      { ...options, deps: { ...options.deps, s3: { send: reads.send } } },
    );

    expect(running).toMatchObject({ done: 20 });
    expect(reads.most()).toBe(16);
  });

  it('runs the whole path here without a progress listener, and counts across chunks', async () => {
    const { config, options } = await setUp();
    const seen: { done: number; succeeded: number; failed: number; total: number }[] = [];

    const quiet = await runOnLocalEngine(job(config), { ...options, deadlineAt: Date.now() + 10_000 });
    const counted = await runOnLocalEngine(
      { ...job(config), batchId: 'cc' },
      { ...options, deadlineAt: Date.now() + 10_000, onProgress: (progress) => seen.push(progress) },
    );

    expect(quiet).toMatchObject({ succeeded: 6, failed: 1 });
    expect(counted).toMatchObject({ succeeded: 6, failed: 1 });
    expect(seen.every((progress) => progress.succeeded + progress.failed === progress.done)).toBe(true);
    expect(seen.at(-1)).toEqual({ done: 7, succeeded: 6, failed: 1, total: 7 });
  });
});

describe('the chunked path with the catalog', () => {
  afterEach(() => forgetCatalog());

  it("leaves a chunk's items whose photo another chunk fetches to the aggregate, which copies them: one download per photo", async () => {
    const { config, s3, json, options: fast } = await setUp({ catalog: true });
    // S3 takes a moment over each copy: the aggregate's items must have time of their own to finish.
    const slowCopies = async (command: unknown, sendOptions?: { abortSignal?: AbortSignal }) => {
      if (command instanceof CopyObjectCommand) {
        const signal = sendOptions?.abortSignal;
        await new Promise((resolve, reject) => {
          setTimeout(resolve, 10);
          signal?.addEventListener('abort', () => reject(signal.reason));
        });
      }
      return s3.send(command);
    };
    const options = { ...fast, deps: { ...fast.deps, transfer: { send: slowCopies as typeof s3.send } } };
    // Chunks of 3: [1 2 1] [2 3] [1 2]; photo 2's first item is in chunk 0, photo 3's in chunk 1.
    const request = parseRequest({ ids: ['1', '2', '1', '2', '3', '1', '2'], width: 8, concurrency: 4 }, config);
    const plan = await planBatch({ batchId: 'cb', request }, 1, options);
    const task = (n: number) => ({
      batchId: 'cb',
      request,
      concurrency: plan.concurrency,
      startedAt: plan.startedAt,
      chunk: plan.chunks[n] as (typeof plan.chunks)[number],
    });

    for (const n of [2, 1, 0]) await runChunk(task(n), { ...options, deadlineAt: Date.now() + 10_000 });
    // No deadline given: the aggregate step runs its deferred copies within a budget of its own.
    const { result } = await aggregateBatch(plan, options);

    expect(json('images/cb/chunks/1.json').deferred).toEqual([3]);
    expect(json('images/cb/chunks/2.json').deferred).toEqual([5, 6]);
    expect(result).toMatchObject({ requested: 7, succeeded: 7, failed: 0, catalog: { photos: 3 } });
    const downloads = source?.requests.filter((r) => r.url.startsWith('/id/')).map((r) => r.url);
    expect(downloads?.sort()).toEqual(['/id/1/8/8', '/id/2/8/8', '/id/3/8/8']);
    const items = (json('images/cb/manifest.json') as Manifest).items;
    expect(items.map((item) => (item.ok ? (item.copyOf ?? 'fetched') : item.reason))).toEqual([
      'fetched',
      'fetched',
      0,
      1,
      'fetched',
      0,
      1,
    ]);
    expect(items[5]).toMatchObject({ key: 'images/cb/5-1.jpg', author: 'A1', page: 'https://x.test/1' });
    // The batch ran until its last write: the aggregate's copies, after every chunk.
    expect(result.elapsedMs).toBeGreaterThanOrEqual(Math.max(...items.map((item) => item.storedMs ?? 0)));
  });

  it("retries a chunked batch's unfinished items in chunks of their own, into the same manifest", async () => {
    let failing = true;
    const { config, json, options } = await setUp({ failing: () => failing });
    const request = parseRequest({ count: 7, width: 8, seed: 'c', concurrency: 4 }, config);
    const first = await runOnLocalEngine({ batchId: 'cb', request }, { ...options, deadlineAt: Date.now() + 10_000 });
    failing = false;
    const claimed = await new BatchService(options.config, options.deps).claimRetry('cb');
    if (claimed.kind !== 'claimed') throw new Error(`expected a claimed retry, got ${claimed.kind}`);

    const retried = await runOnLocalEngine(claimed.job, { ...options, deadlineAt: Date.now() + 10_000 });

    expect(first).toMatchObject({ succeeded: 6, failed: 1 });
    expect(claimed.job.retry).toEqual({ run: 1, items: 1 });
    expect(retried).toMatchObject({ requested: 7, succeeded: 7, failed: 0, retries: 1 });
    // The retry's chunks could not read a catalog (the source has none): the result says so.
    expect(retried.catalog).toMatchObject({ unavailable: expect.any(String) });
    expect(json('images/cb/retries/1/chunks/0.json').items.map((item: { index: number }) => item.index)).toEqual([4]);
    const manifest = json('images/cb/manifest.json') as Manifest;
    expect(manifest.items[4]).toMatchObject({ ok: true, run: 1 });
  });
});

describe('the run a chunk or aggregate step is for', () => {
  const later = () => Date.now() + 10_000;
  const taskOf = (plan: Awaited<ReturnType<typeof planBatch>>, n: number, startedAt = plan.startedAt) => ({
    batchId: 'cb',
    request: plan.request,
    concurrency: plan.concurrency,
    startedAt,
    chunk: plan.chunks[n] as (typeof plan.chunks)[number],
  });

  it('runs a chunk only for the run its batch is running: another plan, a finished batch or none is refused, writing nothing', async () => {
    const { config, s3, options } = await setUp();
    const plan = await planBatch(job(config), 1, options);
    const keysBefore = [...s3.objects.keys()];
    const other = new Date(Date.parse(plan.startedAt) + 1).toISOString();

    await expect(runChunk(taskOf(plan, 0, other), { ...options, deadlineAt: later() })).rejects.toThrow(
      `Batch cb is not running a chunked run planned at ${other}: its record says running (planned at ${plan.startedAt})`,
    );
    await expect(
      runChunk({ ...taskOf(plan, 0), batchId: 'none' }, { ...options, deadlineAt: later() }),
    ).rejects.toThrow('its record says no record');
    s3.objects.set('images/cb/status.json', JSON.stringify({ batchId: 'cb', status: 'failed', requested: 7 }));
    await expect(runChunk(taskOf(plan, 0), { ...options, deadlineAt: later() })).rejects.toMatchObject({
      name: 'NotPlannedError',
      code: 'NOT_PLANNED',
      message: expect.stringMatching(/its record says failed$/),
    });
    expect([...s3.objects.keys()].filter((key) => key !== 'images/cb/status.json')).toEqual(
      keysBefore.filter((key) => key !== 'images/cb/status.json'),
    );
    expect(source?.requests).toHaveLength(0);
  });

  it('answers an aggregate delivered again after the batch finished with its recorded result, writing nothing', async () => {
    const { config, s3, options } = await setUp();
    const plan = await planBatch(job(config), 1, options);
    for (const n of [0, 1, 2]) await runChunk(taskOf(plan, n), { ...options, deadlineAt: later() });
    const first = await aggregateBatch(plan, options);
    const manifest = s3.objects.get('images/cb/manifest.json');
    s3.objects.delete('images/cb/report.html');

    const again = await aggregateBatch(plan, options);

    // Marked as delivered again, so the batch is announced once (at the first aggregate).
    expect(first.again).toBeUndefined();
    expect(again).toEqual({ result: first.result, missingChunks: [], again: true });
    expect(s3.objects.get('images/cb/manifest.json')).toBe(manifest);
    expect(s3.objects.has('images/cb/report.html')).toBe(false);
    await expect(aggregateBatch({ ...plan, startedAt: '2026-01-01T00:00:00.000Z' }, options)).rejects.toThrow(
      /its record says done$/,
    );
  });

  it('never records a finished batch as failed: a late failure of a step leaves it done', async () => {
    const { s3, options } = await setUp();
    for (const status of ['done', 'cancelled']) {
      const record = { batchId: 'cb', status, result: { batchId: 'cb' } };
      s3.objects.set('images/cb/status.json', JSON.stringify(record));

      const answered = await recordFailure(
        { kind: 'picsum-batch.failed', batchId: 'cb', requested: 7, failure: { Error: 'States.Timeout' } },
        options,
      );

      expect(answered).toEqual({ status: record, again: true });
      expect(JSON.parse(s3.objects.get('images/cb/status.json') ?? '')).toEqual(record);
    }
  });

  it("records a retry run's plan with its retry, for GET", async () => {
    const { config, json, options, s3 } = await setUp();
    // Retry 2 claimed, of a batch whose manifest holds one retry so far.
    const result = { batchId: 'cb', status: 'done', retries: 1 };
    s3.objects.set('images/cb/manifest.json', JSON.stringify({ version: 1, batchId: 'cb', result, items: [] }));
    s3.objects.set('images/cb/retries/2.json', JSON.stringify({ run: 2, indexes: [0, 1, 2, 3] }));
    const plan = await planBatch({ ...job(config), retry: { run: 2, items: 4 } }, 1, options);

    expect(json('images/cb/status.json')).toMatchObject({ retry: { run: 2, items: 4 }, plannedAt: plan.startedAt });
  });
});

describe('the chunked path, at its edges', () => {
  const later = () => Date.now() + 10_000;

  it('plans a scheduled batch as scheduled, so that its aggregate knows to heal it', async () => {
    const { config, options } = await setUp();

    expect(await planBatch({ ...job(config), scheduled: true }, 1, options)).toMatchObject({ scheduled: true });
    expect(await planBatch({ ...job(config), batchId: 'cc' }, 1, options)).not.toHaveProperty('scheduled');
  });

  it('refuses a chunk without a plan time, even against a running record without one, and an aggregate with no record', async () => {
    const { config, s3, options } = await setUp();
    const plan = await planBatch(job(config), 1, options);
    s3.objects.set('images/cb/status.json', JSON.stringify({ batchId: 'cb', status: 'running', requested: 7 }));
    const { startedAt: _startedAt, ...unplanned } = {
      batchId: 'cb',
      request: plan.request,
      concurrency: plan.concurrency,
      startedAt: plan.startedAt,
      chunk: plan.chunks[0] as (typeof plan.chunks)[number],
    };

    // A task the workflow entry would refuse (startedAt is required): runChunk refuses it too.
    await expect(runChunk(unplanned as never, { ...options, deadlineAt: later() })).rejects.toMatchObject({
      name: 'NotPlannedError',
    });
    s3.objects.delete('images/cb/status.json');
    await expect(aggregateBatch(plan, options)).rejects.toMatchObject({ name: 'NotPlannedError' });
  });

  it('counts cancelled items apart in the progress of a batch run in chunks here', async () => {
    const { config, options } = await setUp();
    const updates: { cancelled?: number; done: number }[] = [];

    await runOnLocalEngine(job(config), {
      ...options,
      deadlineAt: later(),
      cancel: AbortSignal.abort(),
      onProgress: (progress) => updates.push(progress),
    });

    // Three chunks of 3, 3 and 1, every item cancelled: the counts run on across chunks.
    expect(updates.map((update) => update.cancelled)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(updates.at(-1)).toMatchObject({ done: 7 });
  });

  it('gives the items left to the aggregate its own deadline: one already past ends them as timeout', async () => {
    const { config, options } = await setUp({ catalog: true });
    const request = parseRequest({ ids: ['1', '2', '1', '2', '3', '1', '2'], width: 8, concurrency: 4 }, config);
    const plan = await planBatch({ batchId: 'cb', request }, 1, options);
    for (const chunk of plan.chunks) {
      const task = { batchId: 'cb', request, concurrency: plan.concurrency, startedAt: plan.startedAt, chunk };
      await runChunk(task, { ...options, deadlineAt: later() });
    }

    const { result } = await aggregateBatch(plan, { ...options, deadlineAt: Date.now() - 1 });

    // Items 3, 5 and 6 were left to the aggregate (see above).
    expect(result).toMatchObject({ succeeded: 4, failed: 3, failureCounts: { timeout: 3 } });
  });

  it("retries in chunks with the catalog: a photo stored in the first run is copied in the retry's own chunk, another chunk's photo is left to the aggregate", async () => {
    // The first run: S3 refuses the copies of photo 1 (items 2 and 5), and the source has no photo 2 or 3 yet.
    let firstRun = true;
    const { config, s3, json, options } = await setUp({
      catalog: true,
      answer: (req, res) => {
        const id = /^\/id\/(\d+)\//.exec(req.url ?? '')?.[1] ?? '';
        if (firstRun && id !== '1') return void res.writeHead(404).end();
        const body = jpegOf(60 + Number(id));
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length, 'picsum-id': id });
        res.end(body);
      },
    });
    const send = s3.send;
    const refusing = async (command: unknown) => {
      if (firstRun && command instanceof CopyObjectCommand && /\/[25]-1\.jpg$/.test(command.input.Key ?? '')) {
        throw Object.assign(new Error('denied'), {
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: { httpStatusCode: 403 },
        });
      }
      return send(command);
    };
    const here = { config, deps: { ...options.deps, transfer: { send: refusing as typeof send } } };
    const request = parseRequest({ ids: ['1', '2', '1', '2', '3', '1', '2', '3'], width: 8, concurrency: 4 }, config);
    const first = await runOnLocalEngine({ batchId: 'cr', request }, { ...here, deadlineAt: later() });
    expect(first).toMatchObject({ succeeded: 1, failed: 7 });
    firstRun = false;
    forgetCatalog();

    const claimed = await new BatchService(here.config, here.deps).claimRetry('cr');
    if (claimed.kind !== 'claimed') throw new Error(`expected a claimed retry, got ${claimed.kind}`);
    const retried = await runOnLocalEngine(claimed.job, { ...here, deadlineAt: later() });

    // Unfinished: 1 2 3 4 5 6 7, in retry chunks [1 2 3] [4 5] [6 7].
    expect(retried).toMatchObject({ requested: 8, succeeded: 8, failed: 0, retries: 1 });
    // Item 5 (photo 1, stored in the first run) is copied in its own chunk, though photo 1's first
    // unfinished item is in chunk 0; 6 (photo 2, first in chunk 0) and 7 (photo 3, first in chunk 1)
    // wait for the aggregate.
    expect(json('images/cr/retries/1/chunks/0.json').deferred ?? []).toEqual([]);
    expect(json('images/cr/retries/1/chunks/1.json').deferred ?? []).toEqual([]);
    expect(json('images/cr/retries/1/chunks/2.json').deferred).toEqual([6, 7]);
    const downloads = (source?.requests ?? []).filter((r) => r.url.startsWith('/id/')).map((r) => r.url);
    // In the retry, photos 2 and 3 once each; photo 1 never again.
    expect(downloads.slice(-2).sort()).toEqual(['/id/2/8/8', '/id/3/8/8']);
    const items = (json('images/cr/manifest.json') as Manifest).items;
    expect(items.map((item) => (item.ok ? (item.copyOf ?? 'fetched') : item.reason))).toEqual([
      'fetched',
      'fetched',
      0,
      1,
      'fetched',
      0,
      1,
      4,
    ]);
  });

  it("fails a retry chunk that left no record at its items' own indexes, not their positions in the retry", async () => {
    let firstRun = true;
    // The first run stores items 0 and 1 only; the retry runs 2..6 in chunks [2 3 4] [5 6].
    const { config, options } = await setUp({
      answer: (req, res) => {
        const index = Number(/\/c-(\d+)\//.exec(req.url ?? '')?.[1]);
        if (firstRun && index >= 2) return void res.writeHead(404).end();
        const body = jpegOf(64);
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length, 'picsum-id': '1' });
        res.end(body);
      },
    });
    await runOnLocalEngine(job(config), { ...options, deadlineAt: later() });
    firstRun = false;
    const claimed = await new BatchService(options.config, options.deps).claimRetry('cb');
    if (claimed.kind !== 'claimed') throw new Error(`expected a claimed retry, got ${claimed.kind}`);
    const plan = await planBatch(claimed.job, 1, options);
    // The state machine lost the last chunk: only the first ran.
    for (const chunk of plan.chunks.slice(0, -1)) {
      const task = {
        batchId: 'cb',
        request: plan.request,
        concurrency: plan.concurrency,
        startedAt: plan.startedAt,
        chunk,
      };
      await runChunk(task, { ...options, deadlineAt: later() });
    }

    const { result, missingChunks } = await aggregateBatch(plan, options);

    expect(plan.chunks.map((chunk) => chunk.end - chunk.start)).toEqual([3, 2]);
    expect(missingChunks).toEqual([1]);
    expect(result).toMatchObject({
      succeeded: 5,
      failed: 2,
      failures: [
        { index: 5, reason: 'chunk_failed' },
        { index: 6, reason: 'chunk_failed' },
      ],
    });
  });
});
