import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { BodyCheck, ByteGuard } from '../../lambda/function/pipeline/body-check.js';
import { BufferPool } from '../../lambda/function/pipeline/buffer-pool.js';
import { readWhole, STREAM_THRESHOLD_BYTES, shouldStream } from '../../lambda/function/pipeline/transfer.js';
import type { OpenedImage } from '../../lambda/function/source/picsum.js';
import { jpegOf, webpOf } from '../support/hostile-source.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const item = { batchId: 'b', index: 0, count: 1, format: 'jpg' as const };

/** An opened image whose body is `chunks` (then an error, if given), as the source hands it over. */
function opened(chunks: Buffer[], contentLength: number | undefined, failAfter?: Error): OpenedImage {
  const body = Readable.from(
    (async function* () {
      for (const chunk of chunks) yield chunk;
      if (failAfter) throw failAfter;
    })(),
  );
  return { body, contentType: 'image/jpeg', contentLength, picsumId: '7', sourceUrl: 'http://source/7' };
}

/** Runs every chunk through a check, then finishes it; the error it throws, if any. */
function checkAll(check: BodyCheck, chunks: Buffer[]): unknown {
  try {
    for (const chunk of chunks) check.add(chunk);
    check.finish();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('BodyCheck', () => {
  it('accepts exactly the declared length, in any chunking, and hashes what it saw', () => {
    const body = jpegOf(100);
    const check = new BodyCheck(100, 1000, 'jpg', { hash: true });

    expect(checkAll(check, [body.subarray(0, 1), body.subarray(1, 2), body.subarray(2, 37), body.subarray(37)])).toBe(
      undefined,
    );
    expect(check.bytes).toBe(100);
    expect(check.sha256).toBe(sha256(body));
  });

  it('refuses a body cut short of Content-Length, by one byte too', () => {
    const error = checkAll(new BodyCheck(100, 1000, 'jpg', { hash: false }), [jpegOf(99)]);

    expect(error).toMatchObject({ reason: 'source_network', retryable: true });
    expect((error as Error).message).toBe('Body cut short at 99 of 100 bytes');
  });

  it('refuses a body that runs past Content-Length, at the first extra byte', () => {
    const check = new BodyCheck(100, 1000, 'jpg', { hash: false });
    check.add(jpegOf(100));

    expect(() => check.add(Buffer.from([0]))).toThrow('Body ran past Content-Length 100');
    expect(checkAll(new BodyCheck(100, 1000, 'jpg', { hash: false }), [jpegOf(101)])).toMatchObject({
      reason: 'source_network',
      retryable: true,
    });
  });

  it('refuses a body over the limit at the first byte past it, and not at the limit', () => {
    expect(checkAll(new BodyCheck(undefined, 50, 'jpg', { hash: false }), [jpegOf(50)])).toBe(undefined);
    const error = checkAll(new BodyCheck(undefined, 50, 'jpg', { hash: false }), [jpegOf(50), Buffer.from([1])]);

    expect(error).toMatchObject({ reason: 'too_large', retryable: false });
    expect((error as Error).message).toMatch(/MAX_UNSIZED_IMAGE_BYTES.*\(50\)/);
    expect(checkAll(new BodyCheck(60, 50, 'jpg', { hash: false }), [jpegOf(51)])).toMatchObject({
      reason: 'too_large',
    });
    expect((checkAll(new BodyCheck(60, 50, 'jpg', { hash: false }), [jpegOf(51)]) as Error).message).toMatch(
      /MAX_IMAGE_BYTES \(50\)/,
    );
  });

  it('refuses an empty body, and first bytes of another format, as not_image', () => {
    expect(checkAll(new BodyCheck(undefined, 50, 'jpg', { hash: false }), [])).toMatchObject({
      reason: 'not_image',
      message: 'Empty body',
    });
    expect(checkAll(new BodyCheck(undefined, 500, 'jpg', { hash: false }), [webpOf(100)])).toMatchObject({
      reason: 'not_image',
    });
    expect(checkAll(new BodyCheck(undefined, 500, 'webp', { hash: false }), [jpegOf(100)])).toMatchObject({
      reason: 'not_image',
    });
    expect(checkAll(new BodyCheck(undefined, 500, 'webp', { hash: false }), [webpOf(100)])).toBe(undefined);
  });

  it('checks the format on a short body too, and across chunks of a byte', () => {
    expect(checkAll(new BodyCheck(undefined, 500, 'jpg', { hash: false }), [Buffer.from([0xff, 0xd8, 0xff])])).toBe(
      undefined,
    );
    expect(checkAll(new BodyCheck(undefined, 500, 'jpg', { hash: false }), [Buffer.from([0xff, 0xd8])])).toMatchObject({
      reason: 'not_image',
    });
    const webp = webpOf(40);
    const bytes = [...webp].map((byte) => Buffer.from([byte]));
    expect(checkAll(new BodyCheck(40, 500, 'webp', { hash: false }), bytes)).toBe(undefined);
    const broken = Buffer.from(webp);
    broken.write('WEBX', 8, 'latin1');
    expect(checkAll(new BodyCheck(40, 500, 'webp', { hash: false }), [broken])).toMatchObject({ reason: 'not_image' });
    const noRiff = Buffer.from(webp);
    noRiff.write('RIFX', 0, 'latin1');
    expect(checkAll(new BodyCheck(40, 500, 'webp', { hash: false }), [noRiff])).toMatchObject({ reason: 'not_image' });
    for (const at of [0, 1, 2]) {
      const jpeg = jpegOf(20);
      jpeg[at] = 0;
      expect(checkAll(new BodyCheck(20, 500, 'jpg', { hash: false }), [jpeg])).toMatchObject({ reason: 'not_image' });
    }
  });
});

describe('ByteGuard', () => {
  /** What passes through the guard before its source ends, and how it ends. */
  async function through(chunks: Buffer[], declared: number, options: { failAfter?: Error; limit?: number } = {}) {
    const guard = new ByteGuard(declared, options.limit ?? 10_000, 'jpg');
    const passed: Buffer[] = [];
    guard.on('data', (chunk: Buffer) => passed.push(chunk));
    const source = opened(chunks, declared, options.failAfter).body;
    const ended = new Promise<unknown>((resolve) => {
      guard.on('end', () => resolve(undefined));
      guard.on('error', resolve);
    });
    source.on('error', (error) => guard.destroy(error));
    source.pipe(guard);
    return { error: await ended, passed: Buffer.concat(passed), check: guard.check };
  }

  it('passes a whole body through unchanged and hashes it', async () => {
    const body = jpegOf(300);
    const { error, passed, check } = await through(
      [body.subarray(0, 100), body.subarray(100, 200), body.subarray(200)],
      300,
    );

    expect(error).toBe(undefined);
    expect(passed.equals(body)).toBe(true);
    expect(check.sha256).toBe(sha256(body));
  });

  it('never lets the last bytes through when the source ends short, fails or runs long', async () => {
    const body = jpegOf(300);
    const chunks = [body.subarray(0, 100), body.subarray(100, 200), body.subarray(200)];

    const short = await through(chunks, 400);
    const failed = await through(chunks, 300, { failAfter: new Error('reset') });
    const long = await through([...chunks, Buffer.from([1])], 300);

    for (const run of [short, failed, long]) {
      expect(run.error).toBeInstanceOf(Error);
      expect(run.passed.length).toBeLessThan(300);
      expect(run.passed.equals(body.subarray(0, run.passed.length))).toBe(true);
    }
    expect(short.passed.length).toBe(200);
    expect(long.passed.length).toBe(300 - 100);
  });
});

describe('readWhole', () => {
  const config = loadConfig({ MAX_IMAGE_BYTES: '1000', MAX_UNSIZED_IMAGE_BYTES: '500' });

  it('returns exactly the bytes served, through a reused pooled buffer, with their SHA-256', async () => {
    const pool = new BufferPool(1);
    const first = await readWhole(opened([jpegOf(200, 0x31)], 200), item, config, pool);
    first.release();
    const second = jpegOf(150, 0x32);

    const read = await readWhole(opened([second.subarray(0, 70), second.subarray(70)], 150), item, config, pool);

    expect(read.body.equals(second)).toBe(true);
    expect(read.sha256).toBe(sha256(second));
    expect(read).toMatchObject({ contentType: 'image/jpeg', picsumId: '7', sourceUrl: 'http://source/7', index: 0 });
  });

  it('gives its buffer back and discards the body when the body fails', async () => {
    let givenBack = 0;
    const pool = { take: (size: number) => ({ bytes: Buffer.alloc(size), giveBack: () => givenBack++ }) };
    const failing = opened([jpegOf(100)], 200, new Error('socket hang up'));

    await expect(readWhole(failing, item, config, pool as unknown as BufferPool)).rejects.toMatchObject({
      reason: 'source_network',
    });

    expect(givenBack).toBe(1);
    expect(failing.body.destroyed).toBe(true);
  });

  it('never returns stale pooled bytes for a body cut short', async () => {
    const pool = new BufferPool(1);
    (await readWhole(opened([jpegOf(200, 0x31)], 200), item, config, pool)).release();

    await expect(readWhole(opened([jpegOf(100, 0x32)], 200), item, config, pool)).rejects.toMatchObject({
      reason: 'source_network',
      message: 'Body cut short at 100 of 200 bytes',
    });
  });

  it('holds a body without Content-Length up to MAX_UNSIZED_IMAGE_BYTES, and no further', async () => {
    const pool = new BufferPool(2);
    const fits = jpegOf(500, 0x33);

    const read = await readWhole(opened([fits.subarray(0, 250), fits.subarray(250)], undefined), item, config, pool);

    expect(read.body.equals(fits)).toBe(true);
    await expect(readWhole(opened([jpegOf(501)], undefined), item, config, pool)).rejects.toMatchObject({
      reason: 'too_large',
    });
  });

  it('turns a source failing mid-body into a retryable source error', async () => {
    const error = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    await expect(readWhole(opened([jpegOf(50)], 200, error), item, config, new BufferPool(1))).rejects.toMatchObject({
      reason: 'source_network',
      retryable: true,
    });
  });
});

describe('BodyCheck, exactly', () => {
  it('checks the format as soon as twelve bytes are in, naming the format and the bytes', () => {
    const jpegCheck = new BodyCheck(undefined, 500, 'jpg', { hash: false });
    const webpCheck = new BodyCheck(undefined, 500, 'webp', { hash: false });

    expect(() => jpegCheck.add(webpOf(12))).toThrow('Body is not a JPEG image (first bytes 524946460400000057454250)');
    expect(() => webpCheck.add(jpegOf(12))).toThrow('Body is not a WebP image (first bytes ffd8ffe000104a4649460061)');
  });

  it('keeps no hash when asked for none', () => {
    const check = new BodyCheck(20, 500, 'jpg', { hash: false });
    check.add(jpegOf(20));
    check.finish();
    expect(check.sha256).toBe('');
  });
});

describe('shouldStream and the whole-read limits', () => {
  const config = loadConfig({ MAX_IMAGE_BYTES: '1000', MAX_UNSIZED_IMAGE_BYTES: '100' });

  it('streams only bodies of a known length over the threshold', () => {
    const image = (contentLength: number | undefined) => ({ ...opened([], contentLength) });
    expect(shouldStream(image(undefined))).toBe(false);
    expect(shouldStream(image(STREAM_THRESHOLD_BYTES))).toBe(false);
    expect(shouldStream(image(STREAM_THRESHOLD_BYTES + 1))).toBe(true);
  });

  it('streams a 1 MB image rather than holding it whole, so 64 in flight stay within 16 MB of bodies', () => {
    expect(shouldStream({ ...opened([], 1_000_000) })).toBe(true);
    expect(STREAM_THRESHOLD_BYTES * 64).toBeLessThanOrEqual(16 * 1024 * 1024);
  });

  it('reads a body of known length past the unsized cap, up to MAX_IMAGE_BYTES', async () => {
    const body = jpegOf(800);
    const read = await readWhole(opened([body], 800), item, config, new BufferPool(1));
    expect(read.body.equals(body)).toBe(true);
  });

  it('gives its buffer back on release, for the next image', async () => {
    const pool = new BufferPool(1);
    const first = await readWhole(opened([jpegOf(80, 0x31)], 80), item, config, pool);
    const firstBuffer = first.body.buffer;
    first.release();

    const second = await readWhole(opened([jpegOf(80, 0x32)], 80), item, config, pool);

    expect(second.body.buffer).toBe(firstBuffer);
  });
});
