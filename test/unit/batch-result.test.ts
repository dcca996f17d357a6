import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { ItemOutcome } from '../../lambda/function/contracts/result.js';
import { storedPhotos, summarize, writeManifest } from '../../lambda/function/orchestration/batch.js';

const config = loadConfig({ BUCKET_NAME: 'b' });
const request = parseRequest({ count: 3, width: 8 }, config);

const stored = (index: number, key: string, bytes = 10): ItemOutcome => ({
  index,
  ok: true,
  key,
  bytes,
  sha256: `sha-${index}`,
  attempts: 1,
  latencyMs: 5,
});
const failed = (index: number): ItemOutcome => ({
  index,
  ok: false,
  reason: 'timeout',
  message: 'slow',
  attempts: 2,
  latencyMs: 5,
});

const run = { startedAt: new Date(1_000), finishedAt: new Date(3_000), elapsedMs: 2_000, cancelled: false };
const result = (extra: object = {}) =>
  summarize([stored(0, 'images/x/0-7.jpg'), failed(1)], {
    ...run,
    batchId: 'x',
    request,
    concurrency: 4,
    config,
    ...extra,
  });

describe('summarize', () => {
  it('counts the retry runs a result covers (none when not told), and says how photos were chosen only when known', () => {
    expect(result()).toMatchObject({ retries: 0, startedAt: '1970-01-01T00:00:01.000Z', elapsedMs: 2_000 });
    expect(result()).not.toHaveProperty('catalog');
    expect(result({ retries: 2, catalog: { photos: 993 } })).toMatchObject({ retries: 2, catalog: { photos: 993 } });
  });
});

describe('storedPhotos', () => {
  it('names the first stored item of each photo, for later items to copy', () => {
    const items = [
      failed(0),
      stored(1, 'images/x/1-7.jpg', 11),
      stored(2, 'images/x/2-7.jpg', 12),
      stored(3, 'images/x/3-8.webp', 13),
      stored(4, 'images/x/manifest.json'),
    ];

    expect(storedPhotos(items)).toEqual([
      ['7', { index: 1, key: 'images/x/1-7.jpg', bytes: 11, sha256: 'sha-1' }],
      ['8', { index: 3, key: 'images/x/3-8.webp', bytes: 13, sha256: 'sha-3' }],
    ]);
  });
});

describe('writeManifest', () => {
  it('leaves no unhandled rejection when neither the manifest nor the page can be made', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    // An item that cannot be read: JSON.stringify and the page's renderer both throw on it.
    const unreadable = Object.defineProperty({}, 'index', {
      enumerable: true,
      get() {
        throw new Error('unreadable item');
      },
    }) as ItemOutcome;
    const s3 = { send: async () => ({}) };

    const written = await writeManifest(result(), request, [unreadable], { config, deps: { s3 } as never });
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.off('unhandledRejection', onRejection);

    expect(written.manifestError).toMatch(/unreadable item/);
    expect(rejections).toEqual([]);
  });

  it('writes the manifest, then report.html beside it as HTML linking its images and the manifest by name', async () => {
    const puts: PutObjectCommand['input'][] = [];
    const s3 = {
      send: async (command: unknown) => {
        if (command instanceof PutObjectCommand) puts.push(command.input);
        return {};
      },
    };
    const items = [stored(0, 'images/x/0-7.jpg'), failed(1), stored(2, 'images/x/2-8.jpg')];

    await writeManifest(result(), request, items, { config, deps: { s3 } as never });

    expect(puts.map((put) => [put.Key, put.ContentType])).toEqual([
      ['images/x/manifest.json', 'application/json'],
      ['images/x/report.html', 'text/html; charset=utf-8'],
    ]);
    const page = String(puts[1]?.Body);
    expect(page).toContain('href="manifest.json"');
    expect(page).toContain('src="0-7.jpg"');
    expect(page).toContain('src="2-8.jpg"');
  });
});
