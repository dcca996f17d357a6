import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRuntime } from '../../lambda/local/setup.js';
import { type Harness, startHarness, TEST_S3_CREDENTIALS } from '../support/harness.js';

/**
 * Where a local run's images come from when picsum.photos does not answer (the probe is pointed at
 * a closed port): placeholders only where they are announced, and never unasked into a real bucket.
 */
const CLOSED = 'http://127.0.0.1:1';
let harness: Harness;
let folder: string;
beforeAll(async () => {
  harness = await startHarness();
  folder = await mkdtemp(join(tmpdir(), 'local-runtime-'));
});
afterAll(async () => {
  await harness?.close();
  await rm(folder, { recursive: true, force: true });
});

const configuredBucket = () => ({
  BUCKET_NAME: harness.config.bucket,
  S3_ENDPOINT: harness.s3server.endpoint,
  AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
});

describe('the local runtime, picsum.photos unreachable', () => {
  it('falls back to the offline server into the embedded S3, says so, and records the source as offline', async () => {
    const warnings: string[] = [];
    const runtime = await startLocalRuntime({
      env: {},
      picsumUrl: CLOSED,
      dataDirectory: folder,
      warn: (line) => warnings.push(line),
    });
    try {
      expect(runtime.config.source).toBe('offline');
      expect(warnings.join('\n')).toMatch(
        /picsum\.photos can't be reached .*placeholder images from the offline server/,
      );
      expect(runtime.sourceNote).toMatch(/placeholders, not picsum\.photos/);
    } finally {
      await runtime.close();
    }
  });

  it('refuses to fill a configured bucket with placeholders unasked, naming --source offline', async () => {
    const warnings: string[] = [];
    const starting = startLocalRuntime({
      env: configuredBucket(),
      picsumUrl: CLOSED,
      warn: (line) => warnings.push(line),
    });

    await expect(starting).rejects.toThrow(/picsum\.photos can't be reached .*pass --source offline/);
    expect(warnings).toEqual([]);
  });

  it('stores placeholders into a configured bucket when --source offline asks, recording the source', async () => {
    const runtime = await startLocalRuntime({ env: configuredBucket(), source: 'offline', picsumUrl: CLOSED });
    try {
      expect(runtime.config.source).toBe('offline');
    } finally {
      await runtime.close();
    }
  });

  it('names any other source by its URL, and refuses one that does not answer', async () => {
    // Any answer will do (a 404 here): the source is there.
    const server = createServer((_request, response) => response.writeHead(404).end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pics/`;
    try {
      const runtime = await startLocalRuntime({ env: configuredBucket(), source: url });
      try {
        expect(runtime.config.source).toBe(url);
      } finally {
        await runtime.close();
      }
    } finally {
      server.close();
    }
    await expect(startLocalRuntime({ env: configuredBucket(), source: 'http://127.0.0.1:9/pics/' })).rejects.toThrow(
      "http://127.0.0.1:9/pics/ can't be reached (ECONNREFUSED)",
    );
  });
});
