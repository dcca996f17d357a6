import pMap from 'p-map';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { Manifest } from '../../lambda/function/contracts/result.js';
import { BatchService } from '../../lambda/function/orchestration/batch-service.js';
import { aggregateBatch, planBatch, runChunk } from '../../lambda/function/orchestration/chunked/index.js';
import { startDevServer } from '../../lambda/local/dev-server.js';
import { type Harness, sha256, startHarness } from '../support/harness.js';
import { runOnLocalEngine } from '../support/local-engine.js';
import { sameResult } from '../support/same-result.js';

let harness: Harness;
afterEach(async () => {
  await harness?.close();
  harness = undefined as never;
});

const later = () => Date.now() + 120_000;

describe('a batch over CHUNK_SIZE, run in chunks in this process', () => {
  // At scale, but cheap: 1200 tiny images over five chunks (the planner's arithmetic at any size is
  // the property tests' job).
  it('stores 1200 images over five chunks byte-identical to the source, with one manifest for all', async () => {
    harness = await startHarness({ env: { CHUNK_SIZE: '250' } });
    const batch = parseRequest({ count: 1200, width: 8, height: 8, concurrency: 64, seed: 'big' }, harness.config);

    const result = await runOnLocalEngine(
      { batchId: 'big-batch', request: batch },
      { config: harness.config, deps: harness.deps, deadlineAt: later() },
    );

    expect(result).toMatchObject({ batchId: 'big-batch', requested: 1200, succeeded: 1200, failed: 0, failures: [] });
    const manifest = JSON.parse((await harness.object(result.manifestKey)).bytes.toString('utf8')) as Manifest;
    expect(manifest.items.map((item) => item.index)).toEqual(Array.from({ length: 1200 }, (_, index) => index));
    expect(new Set(manifest.items.map((item) => (item.ok ? item.key.split('/')[1] : '')))).toEqual(
      new Set(['big-batch']),
    );
    expect(manifest.result).toEqual(result);

    const imageKeys = (await harness.keys()).filter((key) => key.endsWith('.jpg'));
    expect(imageKeys).toHaveLength(1200);
    expect((await harness.keys()).filter((key) => key.startsWith('images/big-batch/chunks/'))).toHaveLength(5);
    // What the source serves for each picsum id, fetched by id (through its redirect) once per id.
    const served = new Map<string, Promise<string>>();
    const servedFor = (id: string) => {
      let hash = served.get(id);
      if (!hash) {
        hash = harness.served(`${harness.picsum.baseUrl}/id/${id}/8/8`).then(sha256);
        served.set(id, hash);
      }
      return hash;
    };
    const sizes = await pMap(
      manifest.items,
      async (item) => {
        if (!item.ok) throw new Error(`item ${item.index} failed`);
        const stored = await harness.object(item.key);
        const source = await servedFor(stored.metadata['picsum-id'] ?? '');
        expect(sha256(stored.bytes)).toBe(source);
        expect(item.sha256).toBe(source);
        return stored.bytes.length;
      },
      { concurrency: 16 },
    );
    const bytes = sizes.reduce((sum, size) => sum + size, 0);
    expect(result.bytes).toBe(bytes);
  }, 180_000);

  it('runs a chunk delivered twice only once, and fails the items of a chunk that left no record', async () => {
    harness = await startHarness({ env: { CHUNK_SIZE: '100' } });
    const request = parseRequest(
      { count: 250, width: 8, seed: 'again', distinct: true, concurrency: 8 },
      harness.config,
    );
    const options = { config: harness.config, deps: harness.deps, deadlineAt: later() };
    const plan = await planBatch({ batchId: 'b', request }, 4, options);
    expect(plan.chunks.map((chunk) => chunk.end - chunk.start)).toEqual([84, 83, 83]);
    const task = (n: number) => ({
      batchId: 'b',
      request,
      concurrency: plan.concurrency,
      startedAt: plan.startedAt,
      chunk: plan.chunks[n] as never,
    });

    const first = await runChunk(task(0), options);
    const requestsAfterFirst = harness.picsum.requests.length;
    const again = await runChunk(task(0), options);
    await runChunk(task(2), options);

    expect(again).toEqual(first);
    expect(harness.picsum.requests.length - requestsAfterFirst).toBe(83 * 2); // chunk 2 only: redirect + image
    // While its execution runs, GET sums the chunks' progress records.
    const running = { start: async () => {}, describe: async () => ({ status: 'RUNNING' as const, startedAt: '' }) };
    expect(await new BatchService(harness.config, harness.deps, running).status('b')).toEqual({
      batchId: 'b',
      status: 'running',
      execution: 'b',
      requested: 250,
      done: 84 + 83,
      succeeded: 84 + 83,
      failed: 0,
      chunks: { total: 3, done: 2 },
      plannedAt: plan.startedAt,
    });
    const { result, missingChunks } = await aggregateBatch(plan, options);
    expect(missingChunks).toEqual([1]);
    expect(result).toMatchObject({ requested: 250, succeeded: 167, failed: 83 });
    expect(result.failures[0]).toMatchObject({ index: 84, reason: 'chunk_failed', attempts: 0 });
    expect(result.failures.every((failure) => failure.reason === 'chunk_failed')).toBe(true);
    const manifest = JSON.parse((await harness.object(result.manifestKey)).bytes.toString('utf8')) as Manifest;
    expect(manifest.items).toHaveLength(250);
    expect(await new BatchService(harness.config, harness.deps).status('b')).toEqual({
      batchId: 'b',
      status: 'done',
      result,
    });
  });
});

describe('the dev server with chunked batches and Idempotency-Key', () => {
  async function devServer() {
    harness = await startHarness({ env: { MAX_COUNT: '10000', SYNC_MAX_COUNT: '5', CHUNK_SIZE: '10' } });
    const server = await startDevServer(harness.runtime(), { port: 0, log: { info() {}, error() {} } });
    const call = async (method: string, path: string, body?: object, headers: Record<string, string> = {}) => {
      const response = await request(`${server.url}${path}`, {
        method: method as 'GET',
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      });
      return { status: response.statusCode, headers: response.headers, json: JSON.parse(await response.body.text()) };
    };
    const untilDone = async (statusUrl: string) => {
      const seen: { status: string; chunks?: { total: number; done: number }; done?: number }[] = [];
      for (let tries = 0; tries < 300; tries++) {
        const { json } = await call('GET', statusUrl);
        seen.push(json);
        if (json.status === 'done') return seen;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`${statusUrl} never finished`);
    };
    return { server, call, untilDone };
  }

  it('answers 202 for a batch over CHUNK_SIZE, reports chunk progress, then the result of the whole batch', async () => {
    const { server, call, untilDone } = await devServer();
    try {
      const accepted = await call('POST', '/batches', { count: 25, width: 8, concurrency: 2 });
      expect(accepted.status).toBe(202);

      const seen = await untilDone(accepted.json.statusUrl);

      const done = seen.at(-1) as unknown as { result: { requested: number; succeeded: number; batchId: string } };
      expect(done.result).toMatchObject({ batchId: accepted.json.batchId, requested: 25, succeeded: 25 });
      const running = seen.filter((status) => status.status === 'running');
      for (const status of running) expect(status.chunks?.total).toBe(3);
      const imageKeys = (await harness.keys()).filter((key) => key.endsWith('.jpg'));
      expect(imageKeys).toHaveLength(25);
    } finally {
      await server.close();
    }
  });

  it('answers a repeated key with the same batch and starts nothing; a different body with 422', async () => {
    const { server, call, untilDone } = await devServer();
    try {
      const key = { 'idempotency-key': 'order-42' };
      const first = await call('POST', '/batches', { count: 3, width: 8 }, key);
      expect(first.status).toBe(200);
      const requests = harness.picsum.requests.length;

      // The same request after defaults: `height` defaults to `width`.
      const again = await call('POST', '/batches', { count: 3, width: 8, height: 8 }, key);
      expect(again.status).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json).toEqual(sameResult(first.json));
      expect(harness.picsum.requests.length).toBe(requests);

      const other = await call('POST', '/batches', { count: 4, width: 8 }, key);
      expect(other.status).toBe(422);
      expect(other.json.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'Idempotency-Key' });
      expect(other.json.error.message).toContain(first.json.batchId);

      const bad = await call('POST', '/batches', { count: 1 }, { 'idempotency-key': 'has space' });
      expect(bad.status).toBe(400);
      expect(bad.json.error.field).toBe('Idempotency-Key');

      // Racing: the same new key sent five times at once starts one background batch.
      const racing = await Promise.all(
        Array.from({ length: 5 }, () => call('POST', '/batches', { count: 12, width: 8 }, { 'idempotency-key': 'k2' })),
      );
      const ids = new Set(racing.map((answer) => answer.json.batchId));
      expect(ids.size).toBe(1);
      expect(racing.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);
      const [batchId] = ids;
      await untilDone(`/batches/${batchId}`);
      const keys = (await harness.keys()).filter((k) => k.endsWith('.jpg'));
      expect(keys.filter((k) => k.includes(`/${batchId}/`))).toHaveLength(12);
      expect(new Set(keys.map((k) => k.split('/')[1])).size).toBe(2);
    } finally {
      await server.close();
    }
  });
});
