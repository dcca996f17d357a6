import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import {
  batchPrefix,
  catalogKey,
  chunkKey,
  idempotencyKey,
  imageKey,
  manifestKey,
  nameInBatch,
  photoOfKey,
  progressKey,
  progressPrefix,
  reportKey,
  retryClaimKey,
  statusKey,
} from '../../lambda/function/storage/keys.js';

const config = loadConfig({});

describe('the S3 layout', () => {
  const prefixed = { keyPrefix: 'p/' };
  it('puts every document of a batch under its prefix, each where the README says', () => {
    expect(batchPrefix(prefixed, 'b')).toBe('p/b/');
    expect(manifestKey(prefixed, 'b')).toBe('p/b/manifest.json');
    expect(statusKey(prefixed, 'b')).toBe('p/b/status.json');
    expect(chunkKey(prefixed, 'b', 3)).toBe('p/b/chunks/3.json');
    expect(progressPrefix(prefixed, 'b')).toBe('p/b/progress/');
    expect(progressKey(prefixed, 'b', 3)).toBe('p/b/progress/3.json');
    expect(idempotencyKey(prefixed, 'ab12')).toBe('p/idempotency/ab12.json');
    expect(reportKey(prefixed, 'b')).toBe('p/b/report.html');
    expect(catalogKey(prefixed)).toBe('p/catalog.json');
  });

  it("keeps a retry run's documents under retries/{r}/, beside its claim", () => {
    expect(retryClaimKey(prefixed, 'b', 2)).toBe('p/b/retries/2.json');
    expect(chunkKey(prefixed, 'b', 3, 2)).toBe('p/b/retries/2/chunks/3.json');
    expect(progressPrefix(prefixed, 'b', 2)).toBe('p/b/retries/2/progress/');
    expect(chunkKey(prefixed, 'b', 3, 0)).toBe('p/b/retries/0/chunks/3.json');
  });

  it("names an object within its batch's folder, and the photo an image key is of", () => {
    expect(nameInBatch('p/b/03-9.webp')).toBe('03-9.webp');
    expect(nameInBatch('name-only.jpg')).toBe('name-only.jpg');
    expect(photoOfKey('p/b/03-9.webp')).toBe('9');
    expect(photoOfKey('p/b/12-1084.jpg')).toBe('1084');
    expect(photoOfKey('p/b/03-9.webp.bak')).toBeUndefined();
    expect(photoOfKey('p/b/manifest.json')).toBeUndefined();
    expect(photoOfKey('03-9.jpg')).toBeUndefined();
  });

  it('pads image indexes to the width of the last one', () => {
    const key = (index: number, count: number) =>
      imageKey(prefixed, { batchId: 'b', index, count, picsumId: '9', format: 'webp' });
    expect(key(0, 1)).toBe('p/b/0-9.webp');
    expect(key(3, 10)).toBe('p/b/3-9.webp');
    expect(key(3, 11)).toBe('p/b/03-9.webp');
    expect(key(7, 101)).toBe('p/b/007-9.webp');
    expect(key(0, 0)).toBe('p/b/0-9.webp');
  });
});

describe('imageKey', () => {
  it('pads the index to the width of the last index', () => {
    const item = { batchId: 'b1', picsumId: '237', format: 'jpg' as const };
    expect(imageKey(config, { ...item, index: 7, count: 15 })).toBe('images/b1/07-237.jpg');
    expect(imageKey(config, { ...item, index: 7, count: 1000 })).toBe('images/b1/007-237.jpg');
    expect(imageKey(config, { ...item, index: 0, count: 1 })).toBe('images/b1/0-237.jpg');
  });
});
