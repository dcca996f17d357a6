import { afterEach, describe, expect, it } from 'vitest';
import { catalogPhoto } from '../../lambda/emulators/picsum/catalog.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { Manifest } from '../../lambda/function/contracts/result.js';
import { runBatch } from '../../lambda/function/orchestration/batch.js';
import { catalogFor } from '../../lambda/function/orchestration/photos.js';
import { imageUrl } from '../../lambda/function/source/picsum.js';
import { photoOfKey } from '../../lambda/function/storage/keys.js';
import { type Harness, isImageKey, sha256, startHarness } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

const run = (input: object, deadlineMs = 20_000) =>
  runBatch(parseRequest(input, harness.config), {
    config: harness.config,
    deps: harness.deps,
    deadlineAt: Date.now() + deadlineMs,
  });

describe('a batch against s3rver and the offline picsum server', () => {
  it('keeps the keys of an unseeded batch without the catalog when it runs again, so nothing is orphaned', async () => {
    harness = await startHarness({ env: { PICSUM_CATALOG: 'off' } });
    const request = parseRequest({ count: 12, width: 8 }, harness.config);
    const again = () =>
      runBatch(request, {
        config: harness.config,
        deps: harness.deps,
        deadlineAt: Date.now() + 20_000,
        batchId: 'runs-twice',
      });

    const first = await again();
    const keysAfterFirst = await harness.keys(first.prefix);
    const second = await again();

    expect([first.succeeded, second.succeeded]).toEqual([12, 12]);
    expect(await harness.keys(second.prefix)).toEqual(keysAfterFirst);
    expect(keysAfterFirst.filter(isImageKey)).toHaveLength(12);
  });

  it('stores every image byte-identical to what the source served, with type and metadata', async () => {
    harness = await startHarness();
    const request = { count: 6, seed: 'same', width: 120, height: 80, concurrency: 3 };

    const result = await run(request);

    expect(result).toMatchObject({ requested: 6, succeeded: 6, failed: 0, failures: [], concurrency: 3 });
    const keys = (await harness.keys()).filter(isImageKey);
    expect(keys).toHaveLength(6);
    let total = 0;
    for (const [index, key] of keys.entries()) {
      // The photo the batch chose from the catalog, fetched by id.
      const photo = catalogPhoto(photoOfKey(key) ?? '');
      const url = imageUrl(harness.config.picsumBaseUrl, parseRequest(request, harness.config), index, photo?.id).href;
      const stored = await harness.object(key);
      const served = await harness.served(url);
      expect(sha256(stored.bytes)).toBe(sha256(served));
      expect(stored.contentType).toBe('image/jpeg');
      expect(stored.metadata).toEqual({
        'batch-id': result.batchId,
        'source-url': url,
        'picsum-id': photo?.id,
        'photo-author': photo?.author,
        'photo-page': photo?.url,
      });
      expect(key).toBe(`${result.prefix}${index}-${stored.metadata['picsum-id']}.jpg`);
      total += stored.bytes.length;
    }
    expect(result.bytes).toBe(total);
  });

  it('stores webp images as image/webp under .webp keys', async () => {
    harness = await startHarness();

    const result = await run({ count: 2, format: 'webp', grayscale: true, width: 64 });

    const keys = (await harness.keys()).filter((key) => key.endsWith('.webp'));
    expect(keys).toHaveLength(2);
    const stored = await harness.object(keys[0] ?? '');
    expect(stored.contentType).toBe('image/webp');
    expect(stored.bytes.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(stored.bytes.subarray(8, 12).toString('ascii')).toBe('WEBP');
    expect(result.succeeded).toBe(2);
  });

  it('stores a body sent without Content-Length, read whole, byte-identical', async () => {
    harness = await startHarness({ picsum: { faults: (r) => (r.hop === 'image' ? { kind: 'chunked' } : undefined) } });

    const result = await run({ count: 2, seed: 'chunky', width: 300 });

    expect(result.succeeded).toBe(2);
    const key = (await harness.keys()).find((k) => k.includes('/0-')) ?? '';
    const served = await harness.served(`${harness.config.picsumBaseUrl.origin}/id/${photoOfKey(key)}/300/300`);
    expect(sha256((await harness.object(key)).bytes)).toBe(sha256(served));
  });

  it('writes a manifest holding the request, the result and every item with its sha256', async () => {
    harness = await startHarness();

    const result = await run({ count: 3, seed: 'm', width: 50 });

    const manifest = JSON.parse((await harness.object(result.manifestKey)).bytes.toString('utf8')) as Manifest;
    expect(manifest.request).toMatchObject({ count: 3, seed: 'm', width: 50 });
    expect(manifest.result).toEqual(result);
    expect(manifest.items).toHaveLength(3);
    for (const item of manifest.items) {
      if (!item.ok) throw new Error(`item ${item.index} failed: ${item.message}`);
      expect(sha256((await harness.object(item.key)).bytes)).toBe(item.sha256);
    }
  });

  it('reuses keep-alive connections instead of opening one per image', async () => {
    harness = await startHarness();
    // The catalog first (its pages are read 16 at once, on connections the images may reuse).
    await catalogFor(harness.config, harness.deps);
    const before = harness.picsum.connections();

    const result = await run({ count: 30, concurrency: 3, width: 20, distinct: true });

    expect(result).toMatchObject({ requested: 30, succeeded: 30, failed: 0 });
    const connections = harness.picsum.connections();
    expect(connections.base - before.base).toBeLessThanOrEqual(3);
    expect(connections.image).toBeLessThanOrEqual(3);
  });
});
