import { afterEach, describe, expect, it } from 'vitest';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, Manifest } from '../../lambda/function/contracts/result.js';
import { runBatch } from '../../lambda/function/orchestration/batch.js';
import { type Harness, sha256, startHarness } from '../support/harness.js';
import { jpegOf, startHostileSource } from '../support/hostile-source.js';

let harness: Harness | undefined;
let source: Awaited<ReturnType<typeof startHostileSource>> | undefined;
afterEach(async () => {
  await harness?.close();
  await source?.close();
  harness = undefined;
  source = undefined;
});

/** A batch against a hostile source answering every request with `answer`. */
async function runAgainst(
  answer: Parameters<typeof startHostileSource>[0],
  input: object,
  env: Record<string, string> = {},
): Promise<BatchResult> {
  source = await startHostileSource(answer);
  harness = await startHarness({ env: { PICSUM_BASE_URL: source.url, PICSUM_REDIRECT_HOSTS: '', ...env } });
  return runBatch(parseRequest({ width: 40, ...input }, harness.config), {
    config: harness.config,
    deps: harness.deps,
    deadlineAt: Date.now() + 20_000,
  });
}

async function manifestOf(result: BatchResult): Promise<Manifest> {
  return JSON.parse((await (harness as Harness).object(result.manifestKey)).bytes.toString()) as Manifest;
}

describe('a source that closes every connection (Connection: close)', () => {
  it.each([
    ['read whole', 64 * 1024, 120 * 1024],
    ['streamed', 1_100_000, 1_300_000],
  ])('stores every image byte for byte when bodies wait for upload slots (%s)', async (_how, min, max) => {
    const sizes = Array.from({ length: 17 }, (_, i) => min + Math.floor(((max - min) * i) / 16));
    const bodies = sizes.map((size, i) => jpegOf(size, 0x30 + i));

    const result = await runAgainst(
      (req, res) => {
        const index = Number(/seed\/s-(\d+)\//.exec(req.url ?? '')?.[1]);
        const body = bodies[index] as Buffer;
        res.writeHead(200, {
          'content-type': 'image/jpeg',
          'content-length': body.length,
          connection: 'close',
          'picsum-id': String(index),
        });
        res.end(body);
      },
      { count: 17, concurrency: 2, seed: 's' },
    );

    expect(result).toMatchObject({ requested: 17, succeeded: 17, failed: 0 });
    const manifest = await manifestOf(result);
    for (const item of manifest.items) {
      expect(item.ok).toBe(true);
      if (item.ok) {
        const stored = await (harness as Harness).object(item.key);
        expect(sha256(stored.bytes)).toBe(sha256(bodies[item.index] as Buffer));
      }
    }
  });
});
