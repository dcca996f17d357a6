import pMap from 'p-map';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { CATALOG } from '../../lambda/emulators/picsum/catalog.js';
import type { Fault, RequestInfo } from '../../lambda/emulators/picsum/offline-picsum.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, Manifest } from '../../lambda/function/contracts/result.js';
import { BatchService } from '../../lambda/function/orchestration/batch-service.js';
import { aggregateBatch, planBatch, runChunk } from '../../lambda/function/orchestration/chunked/index.js';
import { devServers } from '../support/dev-servers.js';
import { type Harness, sha256, startHarness } from '../support/harness.js';
import { runOnLocalEngine } from '../support/local-engine.js';
import { sameResult } from '../support/same-result.js';

let harness: Harness;
afterEach(() => harness?.close());
const servers = devServers();

/** Item i of these batches is photo `photo(i)`: they name their photos (`ids`), so faults can pick items. */
const photo = (index: number): string => CATALOG[index]?.id ?? '';
const photos = (count: number) => Array.from({ length: count }, (_, index) => photo(index));
const itemOf = (r: RequestInfo) => CATALOG.findIndex((entry) => entry.id === r.photo);

/** Fails the redirect of 3 items in 10 (indexes ending in 0, 1, 2) while `faulty.on`. */
function thirtyPercentFaults() {
  const faulty = { on: true };
  const faults = (r: RequestInfo): Fault | undefined =>
    faulty.on && r.hop === 'base' && r.photo !== undefined && itemOf(r) % 10 < 3
      ? { kind: 'status', status: 503 }
      : undefined;
  return { faulty, faults };
}

/** The dev server on a harness, and a JSON client for it. */
async function devServer(options: Parameters<typeof startHarness>[0]) {
  harness = await startHarness(options);
  const server = await servers.start(harness);
  return async (method: 'GET' | 'POST', path: string, body?: object) => {
    const response = await request(`${server.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: response.statusCode, headers: response.headers, json: JSON.parse(await response.body.text()) };
  };
}

async function manifestOf(result: Pick<BatchResult, 'manifestKey'>): Promise<Manifest> {
  return JSON.parse((await harness.object(result.manifestKey)).bytes.toString('utf8')) as Manifest;
}

/**
 * From the picsum server's request log: image downloads (the second hop), and the requests for each
 * item's redirect (the first hop, `/id/{photo}/...`), by item.
 */
function sourceLog() {
  const redirects: number[] = [];
  for (const r of harness.picsum.requests) {
    if (r.hop === 'base' && r.photo !== undefined) redirects[itemOf(r)] = (redirects[itemOf(r)] ?? 0) + 1;
  }
  return { downloads: harness.picsum.requests.filter((r) => r.hop === 'image').length, redirects };
}

/** Every image object of the batch, checked byte for byte against what the source serves for its item. */
async function expectStoredOnceEach(manifest: Manifest) {
  const images = (await harness.keys()).filter((key) => key.startsWith(manifest.result.prefix) && key.endsWith('.jpg'));
  const indexes = images.map((key) => Number(key.slice(manifest.result.prefix.length).split('-')[0]));
  expect(indexes.sort((a, b) => a - b)).toEqual(manifest.items.map((item) => item.index));
  await pMap(
    manifest.items,
    async (item) => {
      if (!item.ok) throw new Error(`item ${item.index} is not stored`);
      const stored = sha256((await harness.object(item.key)).bytes);
      expect(stored).toBe(item.sha256);
      expect(stored).toBe(sha256(await harness.servedFor(item.key, manifest.request)));
    },
    { concurrency: 8 },
  );
}

describe('POST /batches/{batchId}/retry', () => {
  it("runs a batch's failed items again into the same batch: each stored once, attempts accumulated, nothing fetched twice", async () => {
    const { faulty, faults } = thirtyPercentFaults();
    const call = await devServer({ picsum: { faults }, env: { MAX_ATTEMPTS: '1' } });
    const first = await call('POST', '/batches', { ids: photos(20), width: 16 });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ requested: 20, succeeded: 14, failed: 6, retries: 0 });

    faulty.on = false;
    const retried = await call('POST', `/batches/${first.json.batchId}/retry`, {});

    expect(retried.status).toBe(200);
    expect(retried.json).toMatchObject({
      batchId: first.json.batchId,
      prefix: first.json.prefix,
      requested: 20,
      succeeded: 20,
      failed: 0,
      failures: [],
      retries: 1,
      startedAt: first.json.startedAt,
    });
    expect(retried.json.elapsedMs).toBeGreaterThanOrEqual(first.json.elapsedMs);
    const manifest = await manifestOf(retried.json);
    // The answer is the manifest's result, with the API's links.
    const { links, ...answered } = retried.json;
    expect(manifest.result).toEqual(answered);
    expect(links).toBeDefined();
    expect(manifest.items).toHaveLength(20);
    for (const item of manifest.items) {
      if (item.index % 10 < 3) {
        // Failed once in the first run (one attempt allowed), stored by retry run 1.
        expect(item).toMatchObject({ ok: true, attempts: 2, run: 1, retries: [{ reason: 'source_status' }] });
        expect(item.retries?.[0]?.waitMs).toBeGreaterThanOrEqual(0);
      } else {
        expect(item).toMatchObject({ ok: true, attempts: 1 });
        expect(item.run).toBeUndefined();
      }
    }
    // Each image was downloaded exactly once: the first run's images were not fetched again, and
    // each failed item was asked for once more.
    expect(sourceLog()).toEqual({
      downloads: 20,
      redirects: [2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1],
    });
    await expectStoredOnceEach(manifest);
    // The same result, with links of its own (signed in the second it is asked for).
    expect((await call('GET', `/batches/${first.json.batchId}`)).json).toEqual({
      batchId: first.json.batchId,
      status: 'done',
      result: {
        ...answered,
        links: { manifest: expect.any(String), report: expect.any(String), expiresAt: expect.any(String) },
      },
    });

    // A complete batch: 200 with its result, and nothing fetched.
    const requestsBefore = harness.picsum.requests.length;
    const again = await call('POST', `/batches/${first.json.batchId}/retry`, {});
    expect({ status: again.status, json: again.json }).toEqual({ status: 200, json: sameResult(answered) });
    expect(harness.picsum.requests.length).toBe(requestsBefore);
  });

  it('lets one of two retries asked for at once run; the other is answered 409', async () => {
    const { faulty, faults } = thirtyPercentFaults();
    const call = await devServer({ picsum: { faults, latencyMs: 40 }, env: { MAX_ATTEMPTS: '1' } });
    const first = await call('POST', '/batches', { ids: photos(30), width: 16, concurrency: 3 });
    expect(first.json.failed).toBe(9);
    faulty.on = false;

    const answers = await Promise.all([
      call('POST', `/batches/${first.json.batchId}/retry`, {}),
      call('POST', `/batches/${first.json.batchId}/retry`, {}),
    ]);

    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
    const refused = answers.find((answer) => answer.status === 409)?.json;
    expect(refused).toMatchObject({ error: { code: 'BATCH_RUNNING' }, statusUrl: `/batches/${first.json.batchId}` });
    expect(answers.find((answer) => answer.status === 200)?.json).toMatchObject({ succeeded: 30, retries: 1 });
    // Only one retry fetched anything: 30 downloads in all, two redirects for each failed item.
    expect(sourceLog().downloads).toBe(30);
    expect(sourceLog().redirects.filter((count) => count === 2)).toHaveLength(9);
    expect(sourceLog().redirects.filter((count) => count > 2)).toEqual([]);
  });

  it('answers 409 while the batch runs, 404 for an unknown batch and 400 naming a malformed id', async () => {
    const call = await devServer({ picsum: { latencyMs: 30 }, env: { SYNC_MAX_COUNT: '5' } });
    const accepted = await call('POST', '/batches', { count: 20, width: 8, concurrency: 1 });
    expect(accepted.status).toBe(202);

    const running = await call('POST', `/batches/${accepted.json.batchId}/retry`, {});
    expect(running.status).toBe(409);
    expect(running.json.error.code).toBe('BATCH_RUNNING');
    expect(running.json.error.message).toMatch(/(accepted|running)/);
    // Waiting helps: the answer says how long.
    expect(running.headers?.['retry-after']).toBe('10');

    expect((await call('POST', '/batches/20260101T000000Z-00000000/retry', {})).status).toBe(404);
    const malformed = await call('POST', '/batches/not.an.id/retry', {});
    expect(malformed.status).toBe(400);
    expect(malformed.json.error).toMatchObject({ field: 'batchId' });
    expect(malformed.json.error.message).toMatch(/not\.an\.id/);
    const withFields = await call('POST', `/batches/${accepted.json.batchId}/retry`, { count: 3 });
    expect(withFields.status).toBe(400);
    expect(withFields.json.error).toMatchObject({ field: 'count' });
    expect((await call('GET', `/batches/${accepted.json.batchId}/retry`)).status).toBe(405);
  });
});

describe('retrying a chunked batch', () => {
  it('completes a batch whose chunks failed, itself in chunks, each missing item fetched once', async () => {
    harness = await startHarness({ env: { CHUNK_SIZE: '100' } });
    const options = { config: harness.config, deps: harness.deps, deadlineAt: Date.now() + 120_000 };
    const request = parseRequest({ ids: photos(250), width: 8, concurrency: 8 }, harness.config);
    const plan = await planBatch({ batchId: 'chunked', request }, 4, options);
    // Only the last chunk ran; the two before it died without a record.
    await runChunk(
      {
        batchId: 'chunked',
        request,
        concurrency: plan.concurrency,
        startedAt: plan.startedAt,
        chunk: plan.chunks[2] as never,
      },
      options,
    );
    const { result: broken } = await aggregateBatch(plan, options);
    expect(broken).toMatchObject({ succeeded: 83, failed: 167, failureCounts: { chunk_failed: 167 } });

    const retry = await new BatchService(options.config, options.deps).claimRetry('chunked');
    if (retry.kind !== 'claimed') throw new Error(`expected a claimed retry, got ${retry.kind}`);
    expect(retry.job.retry).toEqual({ run: 1, items: 167 });
    const result = await runOnLocalEngine(retry.job, options);

    expect(result).toMatchObject({ requested: 250, succeeded: 250, failed: 0, retries: 1 });
    const manifest = await manifestOf(result);
    expect(manifest.items.map((item) => item.index)).toEqual([...Array(250).keys()]);
    // A chunk_failed item was never attempted: its one attempt is the retry's, and no earlier reason is listed.
    expect(manifest.items[0]).toMatchObject({ ok: true, attempts: 1, run: 1 });
    expect(manifest.items[0]?.retries).toBeUndefined();
    expect(manifest.items[249]).toMatchObject({ ok: true, attempts: 1 });
    expect(sourceLog()).toEqual({ downloads: 250, redirects: Array(250).fill(1) });
    await expectStoredOnceEach(manifest);
    expect(await new BatchService(harness.config, harness.deps).status('chunked')).toEqual({
      batchId: 'chunked',
      status: 'done',
      result,
    });
  });
});
