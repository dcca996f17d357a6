import { createHash } from 'node:crypto';
import { getEventListeners, once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { streamThrough } from '../../lambda/function/pipeline/transfer.js';
import type { OpenedImage } from '../../lambda/function/source/picsum.js';
import { SourceError } from '../../lambda/function/source/source-error.js';
import { jpegOf } from '../support/hostile-source.js';

/**
 * streamThrough on its own: a source body as a stream the test feeds, and S3 as a sender that
 * behaves as each test scripts it. What matters is when the upload is aborted and what is reported.
 */
const config = loadConfig({ BUCKET_NAME: 'b' });
const item = { batchId: 'b', index: 0, count: 1, format: 'jpg' as const };
const body = jpegOf(4096, 0x42);

function opened(length = body.length): OpenedImage & { body: PassThrough } {
  return {
    body: new PassThrough(),
    contentType: 'image/jpeg',
    contentLength: length,
    picsumId: '9',
    sourceUrl: 'https://picsum.photos/8/8',
  };
}

type Send = (command: PutObjectCommand, options: { abortSignal: AbortSignal }) => Promise<unknown>;
/** A stand-in S3 client: like the SDK's, it is handed the call's abort signal as an option. */
const sender = (send: Send) => ({ send: send as (command: unknown, options?: unknown) => Promise<never> });

/** Reads the streamed body to its end, as S3 does; returns what arrived. */
async function readAll(command: PutObjectCommand): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of command.input.Body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Settles when the upload is aborted, rejecting with its reason as the SDK would. */
const untilAborted = (signal: AbortSignal) =>
  new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason));
  });

describe('streamThrough', () => {
  it('stores a whole body and reports its length and hash, leaving no listener on the deadline', async () => {
    const image = opened();
    const deadline = new AbortController();
    let received: Buffer | undefined;
    let abortedAfterBody = false;
    const s3 = sender(async (command, { abortSignal }) => {
      received = await readAll(command);
      // The source has ended by now: its clean end must not abort the upload.
      await new Promise((resolve) => setImmediate(resolve));
      abortedAfterBody = abortSignal.aborted;
      return {};
    });

    const storing = streamThrough(s3, config, image, item, deadline.signal);
    image.body.end(body);

    await expect(storing).resolves.toEqual({
      key: 'images/b/0-9.jpg',
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    });
    expect(received?.equals(body)).toBe(true);
    expect(abortedAfterBody).toBe(false);
    expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
  });

  it('aborts the upload at once when the deadline has already passed', async () => {
    const image = opened();
    const reason = new Error('deadline');
    const s3 = sender((_command, { abortSignal }) => untilAborted(abortSignal));

    const storing = streamThrough(s3, config, image, item, AbortSignal.abort(reason));

    await expect(storing).rejects.toBe(reason);
    await expect.poll(() => image.body.destroyed).toBe(true);
  });

  it('aborts an upload still sending a whole body when the deadline comes, and stops listening', async () => {
    const image = opened();
    const deadline = new AbortController();
    const s3 = sender(async (command, { abortSignal }) => {
      await readAll(command);
      deadline.abort(reason);
      return untilAborted(abortSignal);
    });
    const reason = new Error('deadline');

    const storing = streamThrough(s3, config, image, item, deadline.signal);
    image.body.end(body);

    await expect(storing).rejects.toBe(reason);
    expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
  });

  it('reports S3 failing first as the store error, and frees the source body', async () => {
    const image = opened();
    const s3 = sender(async () => {
      throw Object.assign(new Error('no'), {
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
      });
    });

    const storing = streamThrough(s3, config, image, item, new AbortController().signal);

    await expect(storing).rejects.toMatchObject({
      name: 'StoreError',
      s3Code: 'AccessDenied',
      message: 'S3 PutObject failed: AccessDenied (HTTP 403): no',
    });
    await expect.poll(() => image.body.destroyed).toBe(true);
  });

  it('never reports success when the source failed, even if S3 answered anyway', async () => {
    const image = opened();
    let sent = 0;
    // An S3 that answers once the upload is aborted, without reading the rest (servers may answer early).
    const s3 = sender(async (command, { abortSignal }) => {
      (command.input.Body as PassThrough).on('data', (chunk: Buffer) => {
        sent += chunk.length;
      });
      await once(abortSignal, 'abort');
      return {};
    });

    const storing = streamThrough(s3, config, image, item, new AbortController().signal);
    // Every byte, then the connection breaks before the response is complete.
    image.body.write(body, () => image.body.destroy(new Error('socket hang up')));

    await expect(storing).rejects.toBeInstanceOf(SourceError);
    expect(sent).toBeLessThan(body.length);
  });
});
