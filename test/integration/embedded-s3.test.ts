import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_S3_CREDENTIALS, type EmbeddedS3, startEmbeddedS3 } from '../../lambda/emulators/s3/embedded-s3.js';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { createS3Client } from '../../lambda/function/storage/s3-client.js';

/** `20261202T161500Z`: SigV4's form of now. */
const amzDate = () => new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');

/**
 * A request signed in form (s3rver does not check V4 signatures: the door checks one is there),
 * so that what refuses it here is the door, not s3rver.
 */
const signed = () => ({
  authorization: `AWS4-HMAC-SHA256 Credential=S3RVER/${amzDate().slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`,
  'x-amz-date': amzDate(),
  'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
});

let root: string;
let s3: EmbeddedS3;
let port: number;

/** One raw HTTP request to the embedded S3, headers as given (Host included): its status. */
function send(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } });
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** Every file under `directory`, as paths relative to it. */
const filesUnder = async (directory: string) => (await readdir(directory, { recursive: true })).sort();

describe('the embedded S3 answers only the project', () => {
  beforeAll(async () => {
    // The store's folder one level down, so that a key escaping it would land in `root`.
    root = await mkdtemp(join(tmpdir(), 'picsum-batch-door-'));
    s3 = await startEmbeddedS3({ directory: join(root, 's3'), bucket: 'door' });
    port = Number(new URL(s3.endpoint).port);
  });
  afterAll(async () => {
    await s3.close({ hard: true });
    await rm(root, { recursive: true, force: true });
  });

  it("stores and reads through the project's signed client", async () => {
    const client = createS3Client(loadConfig({ BUCKET_NAME: 'door', S3_ENDPOINT: s3.endpoint }), {
      credentials: EMBEDDED_S3_CREDENTIALS,
    });
    await client.send(new PutObjectCommand({ Bucket: 'door', Key: 'ok/a.json', Body: '{}' }));
    const read = await client.send(new GetObjectCommand({ Bucket: 'door', Key: 'ok/a.json' }));
    expect(await read.Body?.transformToString()).toBe('{}');
  });

  it('writes with If-Match only over the version named, as S3 does, and 404s it on a missing key', async () => {
    const client = createS3Client(loadConfig({ BUCKET_NAME: 'door', S3_ENDPOINT: s3.endpoint }), {
      credentials: EMBEDDED_S3_CREDENTIALS,
    });
    const put = (body: string, IfMatch: string, Key = 'cas/status.json') =>
      client.send(new PutObjectCommand({ Bucket: 'door', Key, Body: body, IfMatch })).then(
        () => 200,
        (error: { $metadata: { httpStatusCode: number } }) => error.$metadata.httpStatusCode,
      );
    const first = await client.send(new PutObjectCommand({ Bucket: 'door', Key: 'cas/status.json', Body: 'v1' }));

    expect(await put('v2', first.ETag ?? '')).toBe(200);
    expect(await put('v3', first.ETag ?? '')).toBe(412);
    expect(await put('v1', first.ETag ?? '', 'cas/missing.json')).toBe(404);
    const read = await client.send(new GetObjectCommand({ Bucket: 'door', Key: 'cas/status.json' }));
    expect(await read.Body?.transformToString()).toBe('v2');
  });

  it('refuses an unsigned request, and stores nothing', async () => {
    expect(await send('PUT', '/door/unsigned.html', { 'content-type': 'text/html' }, '<script>1</script>')).toBe(403);
    expect(await send('GET', '/door?list-type=2')).toBe(403);
    expect(await filesUnder(join(root, 's3', 'door'))).not.toContain('unsigned.html._S3rver_object');
  });

  it('refuses a foreign Host, as a rebound DNS name brings, even with a signature', async () => {
    expect(await send('GET', '/door?list-type=2', { ...signed(), host: `rebound.example:${port}` })).toBe(403);
    expect(await send('GET', '/door?list-type=2', { ...signed(), host: 'localhost:1' })).toBe(403);
  });

  it('refuses every request from a web page (an Origin), its own name included', async () => {
    for (const origin of ['https://evil.example', `http://127.0.0.1:${port}`, 'null']) {
      expect(await send('GET', '/door?list-type=2', { ...signed(), origin })).toBe(403);
    }
  });

  it('refuses a browser form upload (POST Object), signed or not', async () => {
    const form = 'multipart/form-data; boundary=x';
    const body = '--x\r\nContent-Disposition: form-data; name="key"\r\n\r\nform.html\r\n--x--\r\n';
    expect(await send('POST', '/door', { 'content-type': form }, body)).toBe(403);
    expect(await send('POST', '/door', { ...signed(), 'content-type': form }, body)).toBe(405);
    expect(await filesUnder(join(root, 's3', 'door'))).not.toContain('form.html._S3rver_object');
  });

  it('refuses keys that would resolve outside its folder, and writes nothing there', async () => {
    const before = await filesUnder(root);
    expect(await send('PUT', '/door/..%2F..%2Fescaped', signed(), 'x')).toBe(400);
    expect(await send('PUT', '/door/a/../../escaped', signed(), 'x')).toBe(400);
    expect(await send('PUT', '/door/./dot', signed(), 'x')).toBe(400);
    expect(await send('GET', '/door/%E0%A4%A', signed())).toBe(400);
    expect(await filesUnder(root)).toEqual(before);
  });
});
