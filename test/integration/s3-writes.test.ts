import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { copyImage, MAX_METADATA_BYTES, putImage, putImageStream } from '../../lambda/function/storage/images.js';
import { putJson } from '../../lambda/function/storage/objects.js';
import { createS3Clients } from '../../lambda/function/storage/s3-client.js';
import { startSigV4Server, TEST_CREDENTIALS } from '../support/sigv4-server.js';

/** A sender that keeps each command and the options it was sent with. */
function recording() {
  const sent: { command: PutObjectCommand; options: unknown }[] = [];
  return {
    sent,
    s3: {
      send: async (command: unknown, options?: unknown) =>
        sent.push({ command: command as PutObjectCommand, options }) as never,
    },
  };
}

const image = {
  batchId: 'b',
  index: 2,
  count: 10,
  format: 'jpg' as const,
  picsumId: '9',
  contentType: 'image/jpeg',
  sourceUrl: 'https://s/9',
};
const body = Buffer.from('jpeg bytes');
const sha256 = createHash('sha256').update(body).digest('hex');

describe('putImage', () => {
  it('on AWS S3 sends the SHA-256 S3 checks, and signs with it as the payload hash', async () => {
    const { sent, s3 } = recording();
    const signal = new AbortController().signal;

    const stored = await putImage(s3, loadConfig({ BUCKET_NAME: 'bk' }), { ...image, body, sha256 }, signal);

    expect(stored).toEqual({ key: 'images/b/2-9.jpg', bytes: body.length, sha256 });
    const [{ command, options }] = sent as [(typeof sent)[number]];
    expect(command.input).toMatchObject({
      Bucket: 'bk',
      Key: 'images/b/2-9.jpg',
      ContentType: 'image/jpeg',
      ContentLength: body.length,
      ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
      Metadata: { 'picsum-id': '9', 'source-url': 'https://s/9', 'batch-id': 'b' },
    });
    expect(options).toEqual({ abortSignal: signal });
  });

  it('signs each body with its own known SHA-256 through the client, never hashing it again', async () => {
    const s3Server = await startSigV4Server('s3', 'us-east-1', (_request, res) => res.writeHead(200).end());
    const config = loadConfig({ BUCKET_NAME: 'bk', S3_ENDPOINT: s3Server.url, AWS_REGION: 'us-east-1' });
    const s3 = createS3Clients(config, { credentials: TEST_CREDENTIALS }).transfer;
    // Not the body's hash: had the SDK hashed the body itself, the header would say so.
    const claimed = 'f'.repeat(64);
    try {
      const signal = new AbortController().signal;
      await putImage(s3, config, { ...image, body, sha256 }, signal);
      await putImage(s3, config, { ...image, index: 3, body: Buffer.from('other'), sha256: claimed }, signal);

      expect(s3Server.seen.map((request) => request.headers['x-amz-content-sha256'])).toEqual([sha256, claimed]);
    } finally {
      s3.destroy();
      await s3Server.close();
    }
  });

  it('sends no checksum to an S3-compatible endpoint (it would store the framing)', async () => {
    const { sent, s3 } = recording();
    await putImage(
      s3,
      loadConfig({ BUCKET_NAME: 'bk', S3_ENDPOINT: 'http://127.0.0.1:9' }),
      { ...image, body, sha256 },
      new AbortController().signal,
    );

    expect(sent[0]?.command.input.ChecksumSHA256).toBeUndefined();
  });
});

describe("an image's metadata", () => {
  const metadataOf = async (credit?: { author?: string; page?: string }) => {
    const { sent, s3 } = recording();
    await putImage(
      s3,
      loadConfig({ BUCKET_NAME: 'bk' }),
      { ...image, credit, body, sha256 },
      new AbortController().signal,
    );
    return (sent[0] as (typeof sent)[number]).command.input.Metadata ?? {};
  };
  const bytesOf = (metadata: Record<string, string>) =>
    Object.entries(metadata).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);

  it('carries credit only when the catalog gave it, printable ASCII as is and anything else percent-encoded', async () => {
    expect(Object.keys(await metadataOf())).toEqual(['picsum-id', 'source-url', 'batch-id']);
    expect(
      await metadataOf({ author: 'Alejandro Escamilla', page: 'https://unsplash.com/photos/yC-Yzbqy7PY' }),
    ).toEqual({
      'picsum-id': '9',
      'source-url': 'https://s/9',
      'batch-id': 'b',
      'photo-author': 'Alejandro Escamilla',
      'photo-page': 'https://unsplash.com/photos/yC-Yzbqy7PY',
    });
    expect(await metadataOf({ author: 'Zoë Ørsted' })).toMatchObject({ 'photo-author': 'Zo%C3%AB%20%C3%98rsted' });
    expect(await metadataOf({ page: 'https://x.test/ü' })).toMatchObject({
      'photo-page': 'https%3A%2F%2Fx.test%2F%C3%BC',
    });
  });

  it("cuts credit between characters to keep the whole within S3's 2 KB, the author to a quarter of it", async () => {
    const metadata = await metadataOf({ author: 'Zoë '.repeat(500), page: `https://x.test/${'a'.repeat(5_000)}` });

    expect(bytesOf(metadata)).toBeLessThanOrEqual(MAX_METADATA_BYTES);
    expect(bytesOf(metadata)).toBeGreaterThan(MAX_METADATA_BYTES - 10);
    const author = metadata['photo-author'] ?? '';
    expect(author.length).toBeLessThanOrEqual(MAX_METADATA_BYTES / 4);
    expect(author.length).toBeGreaterThan(MAX_METADATA_BYTES / 4 - 10);
    expect('Zoë '.repeat(500).startsWith(decodeURIComponent(author))).toBe(true);
    expect(metadata['photo-page']).toMatch(/^https:\/\/x\.test\/a+$/);
  });

  it('keeps a credit that fits exactly, and gives the author what a long source URL leaves of the 2 KB', async () => {
    expect((await metadataOf({ author: 'a'.repeat(MAX_METADATA_BYTES / 4) }))['photo-author']).toHaveLength(512);
    const { sent, s3 } = recording();
    const sourceUrl = `https://s/${'u'.repeat(1_700)}`;
    const long = { ...image, sourceUrl, credit: { author: 'b'.repeat(600), page: 'https://p' } };

    await putImage(s3, loadConfig({ BUCKET_NAME: 'bk' }), { ...long, body, sha256 }, new AbortController().signal);

    const metadata = (sent[0] as (typeof sent)[number]).command.input.Metadata ?? {};
    const fixed = bytesOf({ 'picsum-id': '9', 'source-url': sourceUrl, 'batch-id': 'b' });
    expect(metadata['photo-author']).toHaveLength(
      MAX_METADATA_BYTES - fixed - 'photo-author'.length - 'photo-page'.length,
    );
    expect(metadata['photo-page']).toBe('');
    expect(bytesOf(metadata)).toBe(MAX_METADATA_BYTES);
  });

  it('names the call that failed in its error', async () => {
    const failing = { send: async () => Promise.reject(Object.assign(new Error('boom'), { code: 'ECONNRESET' })) };
    const config = loadConfig({ BUCKET_NAME: 'bk' });
    const signal = new AbortController().signal;

    await expect(putImage(failing, config, { ...image, body, sha256 }, signal)).rejects.toThrow(/^S3 PutObject failed/);
    await expect(copyImage(failing, config, 'images/b/0-9.jpg', image, signal)).rejects.toThrow(
      /^S3 CopyObject failed/,
    );
    await expect(putImageStream(failing, config, image, Readable.from([body]), body.length, signal)).rejects.toThrow(
      /^S3 PutObject failed/,
    );
  });
});

describe('copyImage', () => {
  it('copies with its abort signal as the call option', async () => {
    const { sent, s3 } = recording();
    const signal = new AbortController().signal;

    const key = await copyImage(s3, loadConfig({ BUCKET_NAME: 'bk' }), 'images/b/0-9.jpg', image, signal);

    expect(key).toBe('images/b/2-9.jpg');
    expect(sent.map((call) => [call.command.input, call.options])).toEqual([
      [
        expect.objectContaining({ CopySource: 'bk/images/b/0-9.jpg', MetadataDirective: 'REPLACE' }),
        { abortSignal: signal },
      ],
    ]);
  });
});

describe('createS3Clients', () => {
  it('signs each call with the credentials of the moment', async () => {
    const s3Server = await startSigV4Server('s3', 'us-east-1', (_request, res) => res.writeHead(200).end());
    const config = loadConfig({ BUCKET_NAME: 'bk', S3_ENDPOINT: s3Server.url, AWS_REGION: 'us-east-1' });
    // Credentials that expire within the SDK's refresh window: it asks for new ones at every call.
    const rotated = { accessKeyId: 'AKIDROTATED', secretAccessKey: 'rotated-secret' };
    let current: { accessKeyId: string; secretAccessKey: string } = TEST_CREDENTIALS;
    const credentials = async () => ({ ...current, expiration: new Date(Date.now() + 60_000) });
    const s3 = createS3Clients(config, { credentials }).transfer;
    try {
      const signal = new AbortController().signal;
      for (const index of [1, 2, 3]) {
        await putImage(s3, config, { ...image, index, body, sha256 }, signal);
        current = rotated;
      }

      const keys = s3Server.seen.map(
        (request) => /Credential=([^/]+)/.exec(String(request.headers.authorization))?.[1],
      );
      expect(keys).toEqual(['AKIDEXAMPLE', 'AKIDROTATED', 'AKIDROTATED']);
      // The server knows the first credentials only: the first call's signature is whole.
      expect(s3Server.seen[0]?.signatureValid).toBe(true);
    } finally {
      s3.destroy();
      await s3Server.close();
    }
  });

  it('retries a record through the SDK (MAX_ATTEMPTS tries), and sends an image once for the item to retry', async () => {
    // S3 throttling every call: 503 SlowDown, as S3 answers it.
    const slowDown =
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>';
    const s3Server = await startSigV4Server('s3', 'us-east-1', (_request, res) =>
      res.writeHead(503, { 'content-type': 'application/xml' }).end(slowDown),
    );
    const config = loadConfig({
      BUCKET_NAME: 'bk',
      S3_ENDPOINT: s3Server.url,
      AWS_REGION: 'us-east-1',
      MAX_ATTEMPTS: '3',
      RETRY_BASE_MS: '1',
      RETRY_MAX_MS: '5',
    });
    const clients = createS3Clients(config, { credentials: TEST_CREDENTIALS });
    try {
      await expect(putJson(clients.s3, config, 'images/b/status.json', { ok: true })).rejects.toMatchObject({
        name: 'StoreError',
        s3Code: 'SlowDown',
        retryable: true,
      });
      expect(s3Server.seen.map((request) => request.headers['amz-sdk-request'])).toEqual([
        'attempt=1; max=3',
        'attempt=2; max=3',
        'attempt=3; max=3',
      ]);

      await expect(
        putImage(clients.transfer, config, { ...image, body, sha256 }, new AbortController().signal),
      ).rejects.toMatchObject({ name: 'StoreError', s3Code: 'SlowDown' });
      expect(s3Server.seen).toHaveLength(4);
    } finally {
      clients.s3.destroy();
      clients.transfer.destroy();
      await s3Server.close();
    }
  });
});

describe('putImageStream', () => {
  it('asks AWS S3 to check a CRC32 trailer, and nothing of an S3-compatible endpoint', async () => {
    const { sent, s3 } = recording();
    const signal = new AbortController().signal;
    await putImageStream(s3, loadConfig({ BUCKET_NAME: 'bk' }), image, Readable.from([body]), body.length, signal);
    await putImageStream(
      s3,
      loadConfig({ BUCKET_NAME: 'bk', S3_ENDPOINT: 'http://127.0.0.1:9' }),
      image,
      Readable.from([body]),
      body.length,
      signal,
    );

    expect(sent[0]?.command.input).toMatchObject({
      ChecksumAlgorithm: 'CRC32',
      ContentLength: body.length,
      Key: 'images/b/2-9.jpg',
    });
    expect(sent[1]?.command.input.ChecksumAlgorithm).toBeUndefined();
    expect(sent.map((call) => call.options)).toEqual([{ abortSignal: signal }, { abortSignal: signal }]);
  });
});
