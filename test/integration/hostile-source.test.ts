import { afterEach, describe, expect, it } from 'vitest';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { type BatchResult, MAX_LISTED_FAILURES, type Manifest } from '../../lambda/function/contracts/result.js';
import { runBatch } from '../../lambda/function/orchestration/batch.js';
import { type Harness, isImageKey, sha256, startHarness } from '../support/harness.js';
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

describe('a source that serves something other than the image asked for', () => {
  /** One item against a source answering `status`, `headers` and `body`; the item's outcome and what was stored. */
  async function oneItem(headers: Record<string, string>, body: Buffer, input: object = {}) {
    const result = await runAgainst(
      (_req, res) => {
        res.writeHead(200, headers);
        res.end(body);
      },
      { count: 1, ...input },
    );
    const stored = (await (harness as Harness).keys()).filter(isImageKey);
    return { result, failure: result.failures[0], stored };
  }

  it.each([
    [
      'gzip bytes',
      { 'content-type': 'image/jpeg', 'content-encoding': 'gzip' },
      jpegOf(2000),
      /Content-Encoding "gzip"/,
    ],
    [
      'an SVG with a script',
      { 'content-type': 'image/svg+xml' },
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      /image\/svg\+xml/,
    ],
    [
      'HTML labelled as a JPEG',
      { 'content-type': 'image/jpeg' },
      Buffer.from('<html><body>hi</body></html>'),
      /not a JPEG/,
    ],
    ['a bare "image/" type', { 'content-type': 'image/' }, jpegOf(2000), /Content-Type "image\/"/],
    [
      'a 9 KB Content-Type',
      { 'content-type': `image/${'x'.repeat(9000)}` },
      jpegOf(2000),
      /Content-Type "image\/x+\.\.\."/,
    ],
    ['an empty body', { 'content-type': 'image/jpeg' }, Buffer.alloc(0), /Empty body/],
  ])('refuses %s as not_image, once, and stores nothing', async (_name, headers, body, message) => {
    const { failure, stored } = await oneItem(headers, body);

    expect(failure).toMatchObject({ reason: 'not_image', attempts: 1 });
    expect(failure?.message).toMatch(message);
    expect(failure?.message.length).toBeLessThan(300);
    expect(stored).toEqual([]);
  });

  it('asks for the identity encoding and the format requested', async () => {
    await oneItem({ 'content-type': 'image/webp' }, jpegOf(2000), { format: 'webp' });

    expect(source?.requests[0]?.headers['accept-encoding']).toBe('identity');
    expect(source?.requests[0]?.headers.accept).toBe('image/webp');
  });

  it('refuses a JPEG when WebP was asked for, by type and by its bytes', async () => {
    const byType = await oneItem({ 'content-type': 'image/jpeg' }, jpegOf(2000), { format: 'webp' });
    expect(byType.failure).toMatchObject({ reason: 'not_image' });
    await harness?.close();
    await source?.close();

    const byBytes = await oneItem({ 'content-type': 'image/webp' }, jpegOf(2000), { format: 'webp' });
    expect(byBytes.failure?.message).toMatch(/not a WebP/);
    expect(byBytes.stored).toEqual([]);
  });

  it('stores the canonical Content-Type, whatever parameters the source added', async () => {
    const { result, stored } = await oneItem({ 'content-type': 'Image/JPEG; charset=binary' }, jpegOf(5000));

    expect(result.succeeded).toBe(1);
    expect((await (harness as Harness).object(stored[0] ?? '')).contentType).toBe('image/jpeg');
  });
});

describe('a source that redirects badly', () => {
  it.each(['http://[', 'http://a b/'])(
    'refuses an unparsable Location (%s) as redirect_refused, once',
    async (location) => {
      const result = await runAgainst(
        (_req, res) => {
          res.writeHead(302, { location });
          res.end();
        },
        { count: 1 },
      );

      expect(result.failures).toMatchObject([{ reason: 'redirect_refused', attempts: 1 }]);
    },
  );

  it('keeps a 15 KB Location out of results and manifests', async () => {
    const result = await runAgainst(
      (_req, res) => {
        res.writeHead(302, { location: `http://elsewhere.example/${'x'.repeat(15_000)}` });
        res.end();
      },
      { count: 60 },
    );

    // The result lists the first few failures and counts them all; the manifest keeps every item.
    expect(result.failed).toBe(60);
    expect(result.failureCounts).toEqual({ redirect_refused: 60 });
    expect(result.failures).toHaveLength(MAX_LISTED_FAILURES);
    expect(JSON.stringify(result).length).toBeLessThan(MAX_LISTED_FAILURES * 400);
    const manifest = await manifestOf(result);
    expect(manifest.items).toHaveLength(60);
    expect(Math.max(...manifest.items.map((item) => (item.ok ? 0 : item.message.length)))).toBeLessThanOrEqual(300);
    expect(JSON.stringify(manifest).length).toBeLessThan(60 * 500);
  });
});

describe('a source that is slow or sends no length', () => {
  it('gives up on a body trickled a byte at a time after SOURCE_ATTEMPT_TIMEOUT_MS, as source_timeout, and retries', async () => {
    const timers = new Set<NodeJS.Timeout>();
    try {
      const result = await runAgainst(
        (_req, res) => {
          const body = jpegOf(1000);
          res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length });
          let sent = 0;
          const timer = setInterval(() => {
            if (res.destroyed || sent >= body.length) return clearInterval(timer);
            res.write(body.subarray(sent, sent + 1));
            sent++;
          }, 50);
          timers.add(timer);
        },
        { count: 1 },
        { SOURCE_ATTEMPT_TIMEOUT_MS: '400', SOURCE_BODY_TIMEOUT_MS: '10000', MAX_ATTEMPTS: '2' },
      );

      expect(result.failures).toMatchObject([{ reason: 'source_timeout', attempts: 2 }]);
      expect(result.failures[0]?.message).toMatch(/SOURCE_ATTEMPT_TIMEOUT_MS \(400 ms\)/);
      expect(source?.requests).toHaveLength(2);
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  });

  it('holds a body without Content-Length only up to MAX_UNSIZED_IMAGE_BYTES', async () => {
    const small = jpegOf(300_000, 0x41);
    const large = jpegOf(700_000, 0x42);
    const result = await runAgainst(
      (req, res) => {
        const body = req.url?.includes('seed/u-0/') ? small : large;
        res.writeHead(200, { 'content-type': 'image/jpeg', 'transfer-encoding': 'chunked' });
        for (let offset = 0; offset < body.length; offset += 16_384) res.write(body.subarray(offset, offset + 16_384));
        res.end();
      },
      { count: 2, seed: 'u' },
      { MAX_UNSIZED_IMAGE_BYTES: '500000' },
    );

    expect(result.succeeded).toBe(1);
    expect(result.failures).toMatchObject([{ index: 1, reason: 'too_large', attempts: 1 }]);
    expect(result.failures[0]?.message).toMatch(/MAX_UNSIZED_IMAGE_BYTES/);
    const manifest = await manifestOf(result);
    const stored = manifest.items.find((item) => item.ok);
    expect(stored?.ok && sha256((await (harness as Harness).object(stored.key)).bytes)).toBe(sha256(small));
  });
});
