import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pMap from 'p-map';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CATALOG, catalogPhoto } from '../../lambda/emulators/picsum/catalog.js';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, ItemOutcome, Manifest } from '../../lambda/function/contracts/result.js';
import { runBatch } from '../../lambda/function/orchestration/batch.js';
import { catalogFor, forgetCatalog, MAX_KEPT_CATALOG_BYTES } from '../../lambda/function/orchestration/photos.js';
import { MAX_CATALOG_PHOTOS, readCatalog } from '../../lambda/function/source/catalog.js';
import { createSourcePool } from '../../lambda/function/source/picsum.js';
import { MAX_METADATA_BYTES, putImage } from '../../lambda/function/storage/images.js';
import { photoOfKey } from '../../lambda/function/storage/keys.js';
import { putJson } from '../../lambda/function/storage/objects.js';
import { devServers } from '../support/dev-servers.js';
import { type Harness, sha256, startHarness } from '../support/harness.js';
import { runOnLocalEngine } from '../support/local-engine.js';
import { warningsDuring } from '../support/warnings.js';

let harness: Harness;
afterEach(() => harness?.close());
const servers = devServers();

const later = () => Date.now() + 120_000;
const run = (input: object) =>
  runBatch(parseRequest(input, harness.config), { config: harness.config, deps: harness.deps, deadlineAt: later() });

async function manifestOf(result: Pick<BatchResult, 'manifestKey'>): Promise<Manifest> {
  return JSON.parse((await harness.object(result.manifestKey)).bytes.toString('utf8')) as Manifest;
}

type Stored = Extract<ItemOutcome, { ok: true }>;
const storedItems = (manifest: Manifest): Stored[] =>
  manifest.items.map((item) => {
    if (!item.ok) throw new Error(`item ${item.index} failed: ${item.message}`);
    return item;
  });

/** Image downloads the source served (the CDN hop), and its catalog pages. */
const sourceLog = () => ({
  downloads: harness.picsum.requests.filter((r) => r.hop === 'image').length,
  catalogPages: harness.picsum.requests.filter((r) => r.path.startsWith('/v2/list')).length,
});

/**
 * Every item stored once, byte-identical to its photo as the source serves it; each photo fetched
 * once, the other items of it copies naming an item of the same photo. Returns the distinct photos.
 */
async function expectOneDownloadPerPhoto(manifest: Manifest): Promise<number> {
  const items = storedItems(manifest);
  const photoOf = (item: Stored) => photoOfKey(item.key) ?? '';
  const fetched = items.filter((item) => item.copyOf === undefined);
  expect(new Set(fetched.map(photoOf)).size).toBe(fetched.length);
  for (const copy of items.filter((item) => item.copyOf !== undefined)) {
    const original = items[copy.copyOf ?? -1] as Stored;
    expect(original.copyOf).toBeUndefined();
    expect(photoOf(original)).toBe(photoOf(copy));
    expect(copy.sha256).toBe(original.sha256);
  }
  const served = new Map<string, Promise<string>>();
  await pMap(
    items,
    async (item) => {
      const photo = photoOf(item);
      if (!served.has(photo)) served.set(photo, harness.servedFor(item.key, manifest.request).then(sha256));
      const stored = await harness.object(item.key);
      expect(sha256(stored.bytes)).toBe(await served.get(photo));
      // Credit: the catalog's author and page, on the object and in the manifest.
      const entry = catalogPhoto(photo);
      expect(item).toMatchObject({ author: entry?.author, page: entry?.url });
      expect(stored.metadata).toMatchObject({ 'photo-author': entry?.author, 'photo-page': entry?.url });
    },
    { concurrency: 16 },
  );
  return fetched.length;
}

describe('a batch that knows the catalog', () => {
  it('downloads each photo once in a random batch larger than the catalog; the rest are copies', async () => {
    harness = await startHarness();

    const result = await run({ count: 1500, width: 8, concurrency: 32 });

    expect(result).toMatchObject({ succeeded: 1500, failed: 0, catalog: { photos: CATALOG.length } });
    const manifest = await manifestOf(result);
    const { downloads, catalogPages } = sourceLog();
    const photos = await expectOneDownloadPerPhoto(manifest);
    // 1500 draws from 1017 photos: about 790 different ones, each downloaded once.
    expect(downloads).toBe(photos);
    expect(photos).toBeGreaterThan(700);
    expect(photos).toBeLessThan(900);
    // Page 1, then 16 at once (today's 11, and the first few past the end): two round trips.
    expect(catalogPages).toBe(17);
  }, 60_000);

  it('keeps one download per photo across chunks: items whose photo another chunk fetched are copied after', async () => {
    harness = await startHarness({ env: { CHUNK_SIZE: '100' } });
    const request = parseRequest({ count: 400, width: 8, seed: 'across', concurrency: 16 }, harness.config);

    const result = await runOnLocalEngine(
      { batchId: 'across', request },
      {
        config: harness.config,
        deps: harness.deps,
        deadlineAt: later(),
      },
    );

    expect(result).toMatchObject({ requested: 400, succeeded: 400, failed: 0 });
    const manifest = await manifestOf(result);
    expect(manifest.items.map((item) => item.index)).toEqual([...Array(400).keys()]);
    const { downloads } = sourceLog();
    const photos = await expectOneDownloadPerPhoto(manifest);
    expect(downloads).toBe(photos);
    // Some copies are of an item in another chunk (chunks are 100 items long).
    const crossing = storedItems(manifest).filter(
      (item) => item.copyOf !== undefined && Math.floor(item.copyOf / 100) !== Math.floor(item.index / 100),
    );
    expect(crossing.length).toBeGreaterThan(0);
  }, 60_000);

  it('repeats a seeded batch photo for photo, and gives distinct photos with distinct', async () => {
    harness = await startHarness();
    const keysOf = async (result: BatchResult) =>
      storedItems(await manifestOf(result)).map((item) => photoOfKey(item.key));

    const first = await keysOf(await run({ count: 40, seed: 'again', width: 8 }));
    const second = await keysOf(await run({ count: 40, seed: 'again', width: 8 }));
    const distinct = await keysOf(await run({ count: 300, seed: 'again', distinct: true, width: 8 }));

    expect(second).toEqual(first);
    expect(new Set(distinct).size).toBe(300);
  });

  it('keeps the catalog in the bucket: a fresh process reads it from there, not from picsum', async () => {
    harness = await startHarness();
    await run({ count: 3, width: 8 });
    await vi.waitFor(async () => expect(await harness.keys()).toContain('images/catalog.json'));
    const pages = sourceLog().catalogPages;

    // As a cold start would: nothing in memory.
    forgetCatalog();
    const result = await run({ count: 3, width: 8 });

    expect(result.catalog).toEqual({ photos: CATALOG.length });
    expect(sourceLog().catalogPages).toBe(pages);
  });

  it('reads the catalog 16 pages at once without a MaxListeners warning on its signal', async () => {
    harness = await startHarness();
    const { warnings, value: catalog } = await warningsDuring(() =>
      readCatalog(harness.config, harness.deps.source, AbortSignal.timeout(10_000)),
    );

    expect(catalog.photos).toHaveLength(CATALOG.length);
    expect(catalog.byId.get('10')).toEqual(catalogPhoto('10'));
    expect(warnings).toEqual([]);
  });

  it('fetches exactly the photos named by ids, in order', async () => {
    harness = await startHarness();
    const ids = ['237', '10', '1084', '10'];

    const result = await run({ ids, width: 8 });

    const manifest = await manifestOf(result);
    expect(storedItems(manifest).map((item) => photoOfKey(item.key))).toEqual(ids);
    expect(manifest.items[3]).toMatchObject({ copyOf: 1 });
    expect(sourceLog().downloads).toBe(3);
  });

  it('lets hundreds of copies of one photo wait for upload slots without a listener each on the run', async () => {
    harness = await startHarness();
    const { warnings, value: result } = await warningsDuring(() =>
      run({ ids: Array.from({ length: 300 }, () => '10'), width: 8, concurrency: 2 }),
    );

    expect(result).toMatchObject({ succeeded: 300, failed: 0 });
    expect(sourceLog().downloads).toBe(1);
    expect(warnings).toEqual([]);
  });

  it("falls back to picsum's own routes when the catalog cannot be read, and says so", async () => {
    harness = await startHarness({
      picsum: { faults: (r) => (r.path.startsWith('/v2/list') ? { kind: 'status', status: 503 } : undefined) },
      env: { MAX_ATTEMPTS: '2' },
    });

    const result = await run({ count: 3, seed: 'fallback', width: 8 });

    expect(result).toMatchObject({ succeeded: 3, catalog: { unavailable: expect.stringMatching(/HTTP 503/) } });
    const paths = harness.picsum.requests.filter((r) => r.hop === 'base' && !r.path.startsWith('/v2/list'));
    expect(paths.map((r) => r.path)).toEqual(['/seed/fallback-0/8/8', '/seed/fallback-1/8/8', '/seed/fallback-2/8/8']);
    // Page 1 was tried MAX_ATTEMPTS times, and no other page asked for.
    expect(sourceLog().catalogPages).toBe(2);
  });
});

describe('the API with the catalog', () => {
  it('refuses more distinct photos than the catalog has, and unknown ids, naming the field', async () => {
    harness = await startHarness();
    const server = await servers.start(harness);
    const post = async (body: object) => {
      const response = await request(`${server.url}/batches`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      return { status: response.statusCode, json: JSON.parse(await response.body.text()) };
    };

    const tooMany = await post({ count: CATALOG.length + 1, distinct: true, width: 8 });
    const unknown = await post({ ids: ['10', '99999', '123456'], width: 8 });

    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error).toMatchObject({ field: 'distinct' });
    expect(tooMany.json.error.message).toContain(`catalog has ${CATALOG.length} photos`);
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ field: 'ids' });
    expect(unknown.json.error.message).toMatch(/it has no 99999, 123456/);
    // Nothing was fetched for either.
    expect(sourceLog().downloads).toBe(0);
  });
});

/**
 * A catalog source on loopback that answers `/v2/list` pages as `page(n)` says (entries, as JSON),
 * counting the pages asked for; anything else is 404.
 */
async function catalogSource(page: (n: number) => unknown[]) {
  const pages: number[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== '/v2/list') return res.writeHead(404).end();
    const n = Number(url.searchParams.get('page'));
    pages.push(n);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page(n)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    BUCKET_NAME: harness.config.bucket,
    S3_ENDPOINT: harness.config.s3Endpoint,
    PICSUM_BASE_URL: baseUrl,
    MAX_ATTEMPTS: '1',
  });
  const deps = { s3: harness.s3, source: createSourcePool(config) };
  return { config, deps, pages, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Photo entries as picsum lists them, ids from `first`, with credit `author`. */
const entries = (first: number, count: number, author = 'A. Author') =>
  Array.from({ length: count }, (_, i) => ({
    id: String(first + i),
    author,
    width: 100,
    height: 100,
    url: `https://example.test/photos/${first + i}`,
  }));

describe('a hostile catalog', () => {
  it('refuses a page listing more photos than the 100 asked for', async () => {
    harness = await startHarness();
    const source = await catalogSource(() => entries(0, 1_700));

    await expect(readCatalog(source.config, source.deps.source, AbortSignal.timeout(10_000))).rejects.toThrow(
      /1700 entries, over the 100 asked for/,
    );
    expect(source.pages).toEqual([1]);
    await source.close();
  });

  it('ends the read at a page that lists no new photo, as a source repeating one page forever does', async () => {
    harness = await startHarness();
    const source = await catalogSource(() => entries(0, 100));

    const catalog = await readCatalog(source.config, source.deps.source, AbortSignal.timeout(10_000));

    expect(catalog.photos).toHaveLength(100);
    expect(source.pages.length).toBeLessThanOrEqual(17);
    await source.close();
  });

  it(`refuses a catalog of more than ${MAX_CATALOG_PHOTOS} photos, reading no further`, async () => {
    harness = await startHarness();
    const source = await catalogSource((n) => entries(n * 100, 100));

    await expect(readCatalog(source.config, source.deps.source, AbortSignal.timeout(30_000))).rejects.toThrow(
      `lists over ${MAX_CATALOG_PHOTOS} photos`,
    );
    expect(source.pages.length).toBeLessThanOrEqual(MAX_CATALOG_PHOTOS / 100 + 16);
    await source.close();
  });

  it('remembers a failed read for a while: one bad source costs one read, not one per batch', async () => {
    harness = await startHarness();
    const source = await catalogSource(() => [{ not: 'a photo' }]);

    for (let batch = 0; batch < 3; batch++) await expect(catalogFor(source.config, source.deps)).rejects.toThrow();

    expect(source.pages).toEqual([1]);
    await source.close();
  });

  it('reads no kept catalog.json over its size cap, nor one not in the catalog shape: the source is asked', async () => {
    harness = await startHarness();
    const source = await catalogSource((n) => (n === 1 ? entries(0, 5) : []));
    const keep = (photos: unknown) =>
      putJson(harness.s3, source.config, 'images/catalog.json', {
        base: source.config.picsumBaseUrl.href,
        readAt: new Date().toISOString(),
        photos,
      });

    await keep(entries(0, 1).map((photo) => ({ ...photo, url: 'x'.repeat(MAX_KEPT_CATALOG_BYTES) })));
    forgetCatalog();
    expect((await catalogFor(source.config, source.deps)).photos).toHaveLength(5);
    await keep([{ id: '../x', author: 1 }]);
    forgetCatalog();
    expect((await catalogFor(source.config, source.deps)).photos).toHaveLength(5);

    expect(source.pages).toEqual([1, 1]);
    await source.close();
  });

  it('strips control characters from the credit it lists, before any page or header sees it', async () => {
    harness = await startHarness();
    const source = await catalogSource((n) =>
      n === 1
        ? [
            {
              id: '1',
              author: 'Nul\u0000 Bell\u0007 Esc\u001b[31m\u0085',
              width: 1,
              height: 1,
              url: 'https://example.test/\u0000p',
            },
          ]
        : [],
    );

    const catalog = await readCatalog(source.config, source.deps.source, AbortSignal.timeout(10_000));

    expect(catalog.photos[0]).toMatchObject({ author: 'Nul Bell Esc[31m', url: 'https://example.test/p' });
    await source.close();
  });

  it("cuts an object's credit metadata to S3's 2 KB, between characters", async () => {
    harness = await startHarness();
    const author = 'Zoë Ørsted '.repeat(200);
    const page = `https://example.test/${'ü'.repeat(3_000)}`;
    const image = {
      batchId: 'credit-cut',
      index: 0,
      count: 1,
      format: 'jpg' as const,
      picsumId: '10',
      contentType: 'image/jpeg',
      sourceUrl: `${harness.config.picsumBaseUrl.href}id/10/8/8`,
      credit: { author, page },
    };
    const body = Buffer.from([0xff, 0xd8, 0xff, 0x00]);

    const stored = await putImage(
      harness.s3,
      harness.config,
      { ...image, body, sha256: sha256(body) },
      AbortSignal.timeout(10_000),
    );

    const { metadata } = await harness.object(stored.key);
    const bytes = Object.entries(metadata).reduce(
      (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v),
      0,
    );
    expect(bytes).toBeLessThanOrEqual(MAX_METADATA_BYTES);
    expect(author.startsWith(decodeURIComponent(metadata['photo-author'] ?? ''))).toBe(true);
    expect(page.startsWith(decodeURIComponent(metadata['photo-page'] ?? ''))).toBe(true);
    expect((metadata['photo-author'] ?? '').length).toBeGreaterThan(100);
  });
});
