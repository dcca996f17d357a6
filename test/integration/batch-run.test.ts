import { getEventListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { Manifest, Progress } from '../../lambda/function/contracts/result.js';
import { newBatchId, runBatch } from '../../lambda/function/orchestration/batch.js';
import { BatchService } from '../../lambda/function/orchestration/batch-service.js';
import { indexRange, runItems } from '../../lambda/function/pipeline/run-items.js';
import { manifestKey, statusKey } from '../../lambda/function/storage/keys.js';
import { hostileSources, jpegOf } from '../support/hostile-source.js';
import { memoryS3 } from '../support/memory-s3.js';
import { warningsDuring } from '../support/warnings.js';

/** A batch and a run of items end to end against a source on loopback and the narrow S3 stand-in. */
const sources = hostileSources();

/** 100-byte JPEGs, except a 404 for seeded index 1; `inFlight` tracks requests open at once. */
async function setUp(options: { delayMs?: number } = {}) {
  let open = 0;
  const seen = { maxInFlight: 0 };
  const source = await sources.start((req: IncomingMessage, res: ServerResponse) => {
    open++;
    seen.maxInFlight = Math.max(seen.maxInFlight, open);
    res.on('close', () => open--);
    const answer = () => {
      if (req.url?.includes('s-1/')) return void res.writeHead(404).end();
      const body = jpegOf(100);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length, 'picsum-id': '3' });
      res.end(body);
    };
    if (options.delayMs) setTimeout(answer, options.delayMs);
    else answer();
  });
  const config = loadConfig({ BUCKET_NAME: 'b', PICSUM_BASE_URL: source.url, PICSUM_REDIRECT_HOSTS: '' });
  const s3 = memoryS3();
  return { config, s3, seen, deps: { s3, transfer: s3, source: sources.pool(config) } };
}

/** `s3`, except that a PutObject of a key ending in `suffix` throws `error`. */
function failingPut(s3: ReturnType<typeof memoryS3>, suffix: string, error: Error) {
  const send = s3.send;
  const failing = async (command: unknown) => {
    if (command instanceof PutObjectCommand && String(command.input.Key).endsWith(suffix)) throw error;
    return send(command);
  };
  return { send: failing as typeof send };
}

describe('runBatch', () => {
  it('tallies every item into the result and writes the manifest beside the images', async () => {
    const { config, s3, deps } = await setUp();
    const request = parseRequest({ count: 3, seed: 's', width: 8, concurrency: 2 }, config);

    const result = await runBatch(request, { config, deps, deadlineAt: Date.now() + 10_000 });

    expect(result.batchId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(result).toMatchObject({
      status: 'done',
      requested: 3,
      succeeded: 2,
      failed: 1,
      bytes: 200,
      concurrency: 2,
      bucket: 'b',
      prefix: `images/${result.batchId}/`,
      manifestKey: `images/${result.batchId}/manifest.json`,
      failures: [{ index: 1, reason: 'source_status', attempts: 1 }],
      failureCounts: { source_status: 1 },
    });
    expect(result.manifestError).toBeUndefined();
    expect(result.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(result.elapsedMs).toBeLessThanOrEqual(Date.parse(result.finishedAt) - Date.parse(result.startedAt) + 1);
    const latencies = [result.latencyMs.p50, result.latencyMs.p90, result.latencyMs.p99, result.latencyMs.max];
    expect(latencies.every((ms) => Number.isInteger(ms) && ms >= 0 && ms <= result.elapsedMs + 1)).toBe(true);

    const manifest = JSON.parse(s3.objects.get(result.manifestKey) ?? '{}') as Manifest;
    expect(manifest).toEqual({ version: 1, batchId: result.batchId, request, result, items: expect.any(Array) });
    // Of the stored items only: the failed one's time to give up is no latency.
    expect(result.latencyMs.max).toBe(Math.max(...manifest.items.flatMap((item) => (item.ok ? [item.latencyMs] : []))));
    expect(result.runs).toEqual([
      { run: 0, startedAt: result.startedAt, elapsedMs: result.elapsedMs, items: 3, concurrency: 2 },
    ]);
    expect(manifest.items.map((item) => [item.index, item.ok])).toEqual([
      [0, true],
      [1, false],
      [2, true],
    ]);
  });

  it('keeps the batch id it is given, and says a cancelled batch was cancelled', async () => {
    const { config, deps } = await setUp();
    const request = parseRequest({ count: 2, width: 8 }, config);

    const result = await runBatch(request, {
      config,
      deps,
      batchId: 'given',
      deadlineAt: Date.now() + 10_000,
      cancel: AbortSignal.abort(),
    });

    expect(result).toMatchObject({ batchId: 'given', status: 'cancelled', succeeded: 0, failed: 2 });
    expect(result.failureCounts).toEqual({ cancelled: 2 });
  });

  it('reports a manifest it could not write in manifestError, and still returns the result', async () => {
    const { config, s3, deps } = await setUp();
    const failure = Object.assign(new Error('disk full'), { name: 'InternalError', $fault: 'server' });

    const result = await runBatch(parseRequest({ count: 1, width: 8 }, config), {
      config,
      deps: { ...deps, s3: failingPut(s3, 'manifest.json', failure) },
      deadlineAt: Date.now() + 10_000,
    });

    expect(result).toMatchObject({ succeeded: 1 });
    expect(result.manifestError).toMatch(/disk full/);
    // The page is drawn while the manifest is on its way, but a batch without a manifest gets none.
    expect([...s3.objects.keys()].filter((key) => key.endsWith('report.html'))).toEqual([]);
  });

  it('reports a page it could not write in reportError, the manifest written', async () => {
    const { config, s3, deps } = await setUp();
    const failure = Object.assign(new Error('slow down'), { name: 'SlowDown', $fault: 'client' });

    const result = await runBatch(parseRequest({ count: 2, width: 8 }, config), {
      config,
      deps: { ...deps, s3: failingPut(s3, 'report.html', failure) },
      deadlineAt: Date.now() + 10_000,
    });

    expect(result.manifestError).toBeUndefined();
    expect(result.reportError).toMatch(/slow down/);
    expect(s3.objects.has(result.manifestKey)).toBe(true);
  });

  it('names batches by the second they start, sortably', () => {
    expect(newBatchId(new Date('2026-11-25T09:42:07.123Z'))).toMatch(/^20261125T094207Z-[0-9a-f]{8}$/);
  });
});

describe('a run here, with its run record', () => {
  it('writes its run record from zero counts, rewrites it as items end, and reads no manifest before its first images', async () => {
    // Five items of 900 ms each, one at a time: the run outlasts the two seconds between progress writes.
    const { config, s3, deps } = await setUp({ delayMs: 900 });
    const records: { done: number; succeeded: number; failed: number }[] = [];
    const manifestReads: string[] = [];
    const { send } = s3;
    s3.send = async (command: unknown) => {
      const input = (command as { input?: { Key?: string; Body?: unknown } }).input;
      if (command instanceof PutObjectCommand && input?.Key === statusKey(config, 'here')) {
        records.push(JSON.parse(String(input.Body)));
      } else if (!(command instanceof PutObjectCommand) && input?.Key === manifestKey(config, 'here')) {
        manifestReads.push(input.Key);
      }
      return send(command);
    };
    const request = parseRequest({ count: 5, width: 8, concurrency: 1, seed: 's' }, config);

    const result = await new BatchService(config, deps).run(
      { batchId: 'here', request },
      { deadlineAt: Date.now() + 60_000 },
    );

    expect(result).toMatchObject({ succeeded: 4, failed: 1 });
    expect(manifestReads).toEqual([]);
    expect(records[0]).toMatchObject({ status: 'running', done: 0, succeeded: 0, failed: 0, request: { count: 5 } });
    expect(records.some((record) => record.done > 0)).toBe(true);
  }, 30_000);
});

describe('runItems', () => {
  it('keeps requests in flight to the concurrency, counts progress over its own range, and lets go of the cancel signal', async () => {
    const { config, deps, seen } = await setUp({ delayMs: 20 });
    const request = parseRequest({ count: 8, seed: 's', width: 8, concurrency: 2 }, config);
    const cancel = new AbortController();
    const progress: unknown[] = [];

    const run = await runItems(request, indexRange(2, 6), {
      config,
      deps,
      batchId: 'b',
      deadlineAt: Date.now() + 10_000,
      cancel: cancel.signal,
      onProgress: (p) => progress.push(p),
    });

    expect(run.items.map((item) => item.index)).toEqual([2, 3, 4, 5]);
    expect(seen.maxInFlight).toBe(2);
    expect(progress.at(-1)).toEqual({ done: 4, succeeded: 4, failed: 0, total: 4 });
    expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(0);
    expect(run.elapsedMs).toBeLessThanOrEqual(run.finishedAt.getTime() - run.startedAt.getTime() + 1);
  });

  it('warns of no listener leak with every item of the highest concurrency waiting to retry', async () => {
    const tried = new Set<string>();
    const source = await sources.start((req, res) => {
      // Each item's first try is a 503, so every item sleeps on the run's stop signal at once.
      if (!tried.has(req.url ?? '')) {
        tried.add(req.url ?? '');
        return void res.writeHead(503).end();
      }
      const body = jpegOf(100);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body);
    });
    const config = loadConfig({
      BUCKET_NAME: 'b',
      PICSUM_BASE_URL: source.url,
      PICSUM_REDIRECT_HOSTS: '',
      RETRY_BASE_MS: '200',
      RETRY_MAX_MS: '200',
    });
    const memory = memoryS3();
    const deps = { s3: memory, transfer: memory, source: sources.pool(config) };
    const count = config.maxConcurrency;
    const request = parseRequest({ count, seed: 'w', width: 8, concurrency: count }, config);
    const { warnings } = await warningsDuring(() =>
      runItems(request, indexRange(0, request.count), {
        config,
        deps,
        batchId: 'b',
        deadlineAt: Date.now() + 10_000,
      }),
    );

    expect(warnings.filter((name) => name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('counts the items a cancel ended apart in its progress, as well as among the failed', async () => {
    const { config, deps } = await setUp({ delayMs: 50 });
    const request = parseRequest({ count: 6, width: 8, concurrency: 1, seed: 'c' }, config);
    const cancel = new AbortController();
    const updates: Progress[] = [];
    const run = await runItems(request, indexRange(0, 6), {
      config,
      deps,
      batchId: 'b',
      deadlineAt: Date.now() + 10_000,
      cancel: cancel.signal,
      onProgress: (progress) => {
        updates.push(progress);
        // After the first item ends, the rest are cancelled.
        cancel.abort();
      },
    });

    const cancelled = run.items.filter((item) => !item.ok && item.reason === 'cancelled').length;
    expect(cancelled).toBeGreaterThan(0);
    expect(updates[0]).not.toHaveProperty('cancelled');
    expect(updates.at(-1)).toMatchObject({ done: 6, cancelled, total: 6 });
    expect(updates.at(-1)?.failed).toBeGreaterThanOrEqual(cancelled);
  });

  it('lets every item in flight listen on the run’s signals without Node warning of a leak', async () => {
    // 16 downloads held open at once, each listening on the stop and deadline signals: past the 10
    // listeners at which Node.js 20 warned of a leak. Node.js 24 sets no limit on an AbortSignal.
    const { config, deps, seen } = await setUp({ delayMs: 50 });
    const request = parseRequest({ count: 16, width: 8, concurrency: 16 }, config);
    const { value: run, warnings } = await warningsDuring(() =>
      runItems(request, indexRange(0, 16), { config, deps, batchId: 'b', deadlineAt: Date.now() + 10_000 }),
    );

    expect(seen.maxInFlight).toBe(16);
    expect(run.items).toHaveLength(16);
    expect(warnings.filter((name) => name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('leaves no listener behind on the run’s signals, however many items go through', async () => {
    const { config, deps } = await setUp();
    // At concurrency 2 the signals allow 18 listeners: 40 items that each left one would pass that.
    const request = parseRequest({ count: 40, width: 8, concurrency: 2 }, config);
    const { value: run, warnings } = await warningsDuring(() =>
      runItems(request, indexRange(0, 40), {
        config,
        deps,
        batchId: 'b',
        deadlineAt: Date.now() + 10_000,
      }),
    );

    expect(run.items.filter((item) => item.ok)).toHaveLength(40);
    expect(warnings.filter((name) => name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
