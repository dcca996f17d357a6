import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from '../../lambda/emulators/s3/embedded-s3.js';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { createS3Clients } from '../../lambda/function/storage/s3-client.js';
import { TEST_S3_CREDENTIALS } from '../support/s3-credentials.js';

const run = promisify(execFile);

let root: string;
let s3: EmbeddedS3;
let port: number;
let client: S3Client;

type Answer = { status: number; body: string };

/** One raw HTTP request to the embedded S3, path sent as written and headers as given (Host included). */
function send(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } });
    req.once('response', async (res) => {
      let text = '';
      for await (const chunk of res) text += chunk;
      resolve({ status: res.statusCode ?? 0, body: text });
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** SigV4 headers for a request, signed as an SDK signs it with the server's keys. */
async function signatureFor(method: string, path: string, body = '', extra: Record<string, string> = {}) {
  const signer = new SignatureV4({
    credentials: s3.credentials,
    region: 'us-east-1',
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
  });
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    path,
    query: {},
    headers: {
      host: `127.0.0.1:${port}`,
      'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
      ...extra,
    },
  });
  return signed.headers;
}

/** A raw request signed as an SDK signs it: what refuses it is not the signature. */
const sendSigned = async (method: string, path: string, body = '', extra: Record<string, string> = {}) =>
  send(method, path, await signatureFor(method, path, body, extra), body);

/** Every file under `directory`, as paths relative to it. */
const filesUnder = async (directory: string) => (await readdir(directory, { recursive: true })).sort();

const statusOf = (call: Promise<unknown>) =>
  call.then(
    () => 200,
    (error: { $metadata: { httpStatusCode: number } }) => error.$metadata.httpStatusCode,
  );

describe('the embedded S3 answers only the project', () => {
  beforeAll(async () => {
    // The store's folder one level down, so that a key escaping it would land in `root`.
    root = await mkdtemp(join(tmpdir(), 'picsum-batch-door-'));
    s3 = await startEmbeddedS3({ directory: join(root, 's3'), bucket: 'door' });
    port = Number(new URL(s3.endpoint).port);
    client = createS3Clients(loadConfig({ BUCKET_NAME: 'door', S3_ENDPOINT: s3.endpoint }), {
      credentials: s3.credentials,
    }).transfer;
  });
  afterAll(async () => {
    client.destroy();
    await s3.close({ hard: true });
    await rm(root, { recursive: true, force: true });
  });

  it("stores and reads through the project's signed client, with its type and metadata", async () => {
    await client.send(
      new PutObjectCommand({
        Bucket: 'door',
        Key: 'ok/a b+c.json',
        Body: '{}',
        ContentType: 'application/json',
        Metadata: { 'picsum-id': '7' },
      }),
    );
    const read = await client.send(new GetObjectCommand({ Bucket: 'door', Key: 'ok/a b+c.json' }));
    expect(await read.Body?.transformToString()).toBe('{}');
    expect(read.ContentType).toBe('application/json');
    expect(read.Metadata).toEqual({ 'picsum-id': '7' });
  });

  it('makes keys of its own when given none, so no other process can sign for it', async () => {
    const other = await startEmbeddedS3({ directory: join(root, 'other'), bucket: 'door' });
    try {
      expect(other.credentials.secretAccessKey).not.toBe(s3.credentials.secretAccessKey);
      expect(other.credentials.secretAccessKey.length).toBeGreaterThanOrEqual(32);
    } finally {
      await other.close();
    }
  });

  it('writes with If-Match only over the version named, as S3 does, and 404s it on a missing key', async () => {
    const put = (body: string, IfMatch: string, Key = 'cas/status.json') =>
      statusOf(client.send(new PutObjectCommand({ Bucket: 'door', Key, Body: body, IfMatch })));
    const first = await client.send(new PutObjectCommand({ Bucket: 'door', Key: 'cas/status.json', Body: 'v1' }));

    expect(await put('v2', first.ETag ?? '')).toBe(200);
    expect(await put('v3', first.ETag ?? '')).toBe(412);
    expect(await put('v1', first.ETag ?? '', 'cas/missing.json')).toBe(404);
    const read = await client.send(new GetObjectCommand({ Bucket: 'door', Key: 'cas/status.json' }));
    expect(await read.Body?.transformToString()).toBe('v2');
  });

  it('writes with If-None-Match: * once, however many race for the key', async () => {
    const puts = Array.from({ length: 20 }, (_, i) =>
      statusOf(client.send(new PutObjectCommand({ Bucket: 'door', Key: 'once/key', Body: `${i}`, IfNoneMatch: '*' }))),
    );
    const statuses = await Promise.all(puts);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 412)).toHaveLength(19);
  });

  it('continues a v2 listing page after page, folders and keys', async () => {
    for (let i = 0; i < 5; i++) {
      await client.send(new PutObjectCommand({ Bucket: 'door', Key: `pages/b${i}/k`, Body: `${i}` }));
    }
    const folders: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: 'door',
          Prefix: 'pages/',
          Delimiter: '/',
          MaxKeys: 2,
          ContinuationToken: token,
        }),
      );
      folders.push(...(page.CommonPrefixes ?? []).map((common) => common.Prefix ?? ''));
      token = page.NextContinuationToken;
    } while (token);
    expect(folders).toEqual(['pages/b0/', 'pages/b1/', 'pages/b2/', 'pages/b3/', 'pages/b4/']);
  });

  it('refuses an unsigned request, and stores nothing', async () => {
    expect(
      (await send('PUT', '/door/unsigned.html', { 'content-type': 'text/html' }, '<script>1</script>')).status,
    ).toBe(403);
    expect((await send('GET', '/door?list-type=2')).status).toBe(403);
    expect(await statusOf(client.send(new GetObjectCommand({ Bucket: 'door', Key: 'unsigned.html' })))).toBe(404);
  });

  it('refuses a made-up X-Amz-Signature parameter, and leaves the object as it was', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'door', Key: 'batch/manifest.json', Body: '{"ok":true}' }));

    const forged = await send('PUT', '/door/batch/manifest.json?X-Amz-Signature=x', {}, '{"forged":true}');

    expect(forged.status).toBe(403);
    const read = await client.send(new GetObjectCommand({ Bucket: 'door', Key: 'batch/manifest.json' }));
    expect(await read.Body?.transformToString()).toBe('{"ok":true}');
  });

  it('refuses its own key id with a wrong secret, and a key id it does not know', async () => {
    const config = loadConfig({ BUCKET_NAME: 'door', S3_ENDPOINT: s3.endpoint });
    const wrongSecret = createS3Clients(config, {
      credentials: { ...s3.credentials, secretAccessKey: 'guessed' },
    }).transfer;
    const otherKey = createS3Clients(config, { credentials: { ...s3.credentials, accessKeyId: 'someone' } }).transfer;

    const refusals = await Promise.all(
      [wrongSecret, otherKey].map((other) =>
        other.send(new GetObjectCommand({ Bucket: 'door', Key: 'ok/a b+c.json' })).then(
          () => 'served',
          (error: { name: string; $metadata: { httpStatusCode: number } }) =>
            `${error.$metadata.httpStatusCode} ${error.name}`,
        ),
      ),
    );

    expect(refusals).toEqual(['403 SignatureDoesNotMatch', '403 InvalidAccessKeyId']);
  });

  it('refuses a signature made for another key, and a body that is not the one signed', async () => {
    expect((await sendSigned('PUT', '/door/signed/a', 'a')).status).toBe(200);
    const signedForA = await signatureFor('PUT', '/door/signed/a', 'a');

    expect((await send('PUT', '/door/signed/b', signedForA, 'a')).status).toBe(403);
    expect((await send('PUT', '/door/signed/a', signedForA, 'not a')).body).toContain('XAmzContentSHA256Mismatch');
    const read = await client.send(new GetObjectCommand({ Bucket: 'door', Key: 'signed/a' }));
    expect(await read.Body?.transformToString()).toBe('a');
    expect(await statusOf(client.send(new GetObjectCommand({ Bucket: 'door', Key: 'signed/b' })))).toBe(404);
  });

  it("serves a URL from the SDK's presigner, and refuses it altered or expired", async () => {
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'door', Key: 'ok/a b+c.json' }), {
      expiresIn: 60,
    });
    const expired = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'door', Key: 'ok/a b+c.json' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 120_000),
    });

    expect((await fetch(url)).status).toBe(200);
    expect(await (await fetch(url)).text()).toBe('{}');
    expect((await fetch(url.replace('X-Amz-Expires=60', 'X-Amz-Expires=600'))).status).toBe(403);
    expect((await fetch(url.replace('ok/', 'cas/'))).status).toBe(403);
    expect((await fetch(expired)).status).toBe(403);
  });

  it('refuses an aws-chunked upload, naming the client setting that avoids it', async () => {
    const chunking = createS3Clients(loadConfig({ BUCKET_NAME: 'door', S3_ENDPOINT: s3.endpoint }), {
      credentials: s3.credentials,
      requestChecksumCalculation: 'WHEN_SUPPORTED',
    }).transfer;
    const refusal = await chunking
      .send(
        new PutObjectCommand({
          Bucket: 'door',
          Key: 'chunked',
          Body: Readable.from([Buffer.from('x')]),
          ContentLength: 1,
        }),
      )
      .then(
        () => 'stored',
        (error: Error) => error.message,
      );
    expect(refusal).toContain("requestChecksumCalculation: 'WHEN_REQUIRED'");
  });

  it('refuses a foreign Host, as a rebound DNS name brings, even with a signature', async () => {
    expect((await send('GET', '/door?list-type=2', { host: `rebound.example:${port}` })).status).toBe(403);
    expect((await send('GET', '/door?list-type=2', { host: 'localhost:1' })).status).toBe(403);
  });

  it('refuses every request from a web page (an Origin), its own name included', async () => {
    for (const origin of ['https://evil.example', `http://127.0.0.1:${port}`, 'null']) {
      expect((await sendSigned('GET', '/door', '', { origin })).status).toBe(403);
    }
  });

  it('refuses a browser form upload (POST Object), signed or not', async () => {
    const form = 'multipart/form-data; boundary=x';
    const body = '--x\r\nContent-Disposition: form-data; name="key"\r\n\r\nform.html\r\n--x--\r\n';
    expect((await send('POST', '/door', { 'content-type': form }, body)).status).toBe(405);
    expect((await sendSigned('POST', '/door', body, { 'content-type': form })).status).toBe(405);
    expect(await statusOf(client.send(new GetObjectCommand({ Bucket: 'door', Key: 'form.html' })))).toBe(404);
  });

  it('serves only its bucket: another name, encoded or not, reads, writes and deletes nothing', async () => {
    const victim = join(root, 'victim-dir');
    await mkdir(victim);
    await writeFile(join(victim, 'kept.txt'), 'kept');
    const before = await filesUnder(root);

    const answers = await Promise.all([
      sendSigned('DELETE', '/..%2Fvictim-dir'),
      sendSigned('DELETE', '/..%2F..%2F..%2F..%2Ftmp%2Fvictim-dir'),
      sendSigned('PUT', '/..%2F..%2F..%2F..%2Ftmp/escape', 'X'),
      sendSigned('PUT', '/%2E%2E/escape', 'X'),
      sendSigned('GET', '/other-bucket/key'),
      sendSigned('GET', '/door%2F..%2Fother/key'),
    ]);

    expect(answers.map((answer) => answer.status)).toEqual([404, 404, 404, 404, 404, 404]);
    expect(answers[0]?.body).toContain('NoSuchBucket');
    expect(await filesUnder(root)).toEqual(before);
  });

  it('never deletes its bucket', async () => {
    const answer = await sendSigned('DELETE', '/door');
    expect(answer.status).toBe(405);
    const read = await client.send(new GetObjectCommand({ Bucket: 'door', Key: 'ok/a b+c.json' }));
    expect(await read.Body?.transformToString()).toBe('{}');
  });

  it('refuses keys with a . or .. segment, and writes nothing outside its folder', async () => {
    const before = await filesUnder(root);
    expect((await sendSigned('PUT', '/door/..%2F..%2Fescaped', 'x')).status).toBe(400);
    expect((await sendSigned('PUT', '/door/a/../../escaped', 'x')).status).toBe(400);
    expect((await sendSigned('PUT', '/door/./dot', 'x')).status).toBe(400);
    expect((await sendSigned('GET', '/door/%E0%A4%A')).status).toBe(400);
    expect(await filesUnder(root)).toEqual(before);
  });

  it.runIf(awsCli)("answers the AWS CLI, whose signer is botocore's, not the SDK's", async () => {
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_MAX_ATTEMPTS: '1',
    };
    const aws = (...args: string[]) => run('aws', ['--endpoint-url', s3.endpoint, ...args], { env });
    const file = join(root, 'cli upload.txt');
    await writeFile(file, 'from the AWS CLI');

    await aws('s3', 'cp', file, 's3://door/cli/a b+c.txt');
    const listed = await aws('s3', 'ls', 's3://door/cli/');
    const read = await aws('s3', 'cp', 's3://door/cli/a b+c.txt', '-');
    const wrong = await run('aws', ['--endpoint-url', s3.endpoint, 's3', 'ls', 's3://door/'], {
      env: { ...env, AWS_SECRET_ACCESS_KEY: 'guessed' },
    }).then(
      () => 'served',
      (error: { stderr: string }) => error.stderr,
    );

    expect(listed.stdout).toContain('a b+c.txt');
    expect(read.stdout).toBe('from the AWS CLI');
    expect(wrong).toContain('SignatureDoesNotMatch');
  });

  it("lists only its own objects, whatever else its folder holds (an older version's folders, a stray file)", async () => {
    // Named as the store names keys (base64url of `old` and `stray`): a careless store takes them for objects.
    await mkdir(join(root, 's3', 'door', 'b2xk', 'old-batch'), { recursive: true });
    await writeFile(join(root, 's3', 'door', 'b2xk', 'old-batch', '0-1.jpg._S3rver_object'), 'x');
    await writeFile(join(root, 's3', 'door', 'c3RyYXk'), 'x');

    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'door', Prefix: 'ok/' }));
    const all = await client.send(new ListObjectsV2Command({ Bucket: 'door' }));

    expect(listed.Contents?.map((object) => object.Key)).toEqual(['ok/a b+c.json']);
    expect(all.Contents?.every((object) => object.Key !== undefined && !object.Key.includes('_S3rver'))).toBe(true);
  });

  it('deletes an object, and answers 204 for one that is gone', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'door', Key: 'gone/soon', Body: 'x' }));
    await client.send(new DeleteObjectCommand({ Bucket: 'door', Key: 'gone/soon' }));
    await client.send(new DeleteObjectCommand({ Bucket: 'door', Key: 'gone/soon' }));
    expect(await statusOf(client.send(new GetObjectCommand({ Bucket: 'door', Key: 'gone/soon' })))).toBe(404);
  });

  it('deletes many objects in one DeleteObjects, key by key: a key never there is deleted, a . segment is refused', async () => {
    for (const key of ['many/a', 'many/b c', 'many/keep']) {
      await client.send(new PutObjectCommand({ Bucket: 'door', Key: key, Body: 'x' }));
    }
    const answer = await client.send(
      new DeleteObjectsCommand({
        Bucket: 'door',
        Delete: { Objects: [{ Key: 'many/a' }, { Key: 'many/b c' }, { Key: 'many/never' }, { Key: 'many/../keep' }] },
      }),
    );

    expect(answer.Deleted?.map((deleted) => deleted.Key)).toEqual(['many/a', 'many/b c', 'many/never']);
    expect(answer.Errors).toEqual([expect.objectContaining({ Key: 'many/../keep', Code: 'InvalidArgument' })]);
    const left = await client.send(new ListObjectsV2Command({ Bucket: 'door', Prefix: 'many/' }));
    expect(left.Contents?.map((object) => object.Key)).toEqual(['many/keep']);
    // Quiet: only what failed is answered.
    const quiet = await client.send(
      new DeleteObjectsCommand({ Bucket: 'door', Delete: { Objects: [{ Key: 'many/keep' }], Quiet: true } }),
    );
    expect([quiet.Deleted ?? [], quiet.Errors ?? []]).toEqual([[], []]);
  });
});

/** Whether the AWS CLI is here (Debian's awscli; .ci/run installs it). */
const awsCli = (() => {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!awsCli) console.warn('AWS CLI test skipped: no aws (apt-get install awscli)');

/** Whether this machine lets a process mount a tmpfs of its own (a user and mount namespace). */
const namespaces = (() => {
  try {
    execFileSync('unshare', ['--user', '--map-root-user', '--mount', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!namespaces) console.warn('full-disk tests skipped: no user namespaces (unshare --user --mount)');

describe.runIf(namespaces)('the embedded S3 on a full disk', () => {
  let folder: string;
  let child: ChildProcess;
  let disk: S3Client;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'picsum-batch-disk-'));
    // A 1 MB disk of its own: a tmpfs mounted in a mount namespace only the server's process sees.
    child = spawn(
      'unshare',
      [
        '--user',
        '--map-root-user',
        '--mount',
        'sh',
        '-c',
        'mount -t tmpfs -o size=1m tmpfs "$0" && exec "$1" --import tsx test/support/embedded-s3-process.ts "$0"',
        folder,
        process.execPath,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const [line] = (await once(createInterface({ input: child.stdout as Readable }), 'line')) as [string];
    const { endpoint } = JSON.parse(line) as { endpoint: string };
    disk = createS3Clients(loadConfig({ BUCKET_NAME: 'disk', S3_ENDPOINT: endpoint }), {
      credentials: TEST_S3_CREDENTIALS,
    }).transfer;
  });
  afterAll(async () => {
    disk?.destroy();
    child?.stdin?.end();
    if (child && child.exitCode === null) await once(child, 'exit');
    await rm(folder, { recursive: true, force: true });
  });

  it('answers StorageFull naming the disk, keeps what it had, leaves no part behind, and stores again once there is room', async () => {
    const first = Buffer.alloc(600_000, 1);
    const second = Buffer.alloc(600_000, 2);
    await disk.send(new PutObjectCommand({ Bucket: 'disk', Key: 'first', Body: first }));

    const refused = await disk.send(new PutObjectCommand({ Bucket: 'disk', Key: 'second', Body: second })).then(
      () => undefined,
      (error: { name: string; message: string; $metadata: { httpStatusCode: number } }) => error,
    );

    expect(refused?.name).toBe('StorageFull');
    expect(refused?.$metadata.httpStatusCode).toBe(507);
    expect(refused?.message).toMatch(/disk is full/);
    const kept = await disk.send(new GetObjectCommand({ Bucket: 'disk', Key: 'first' }));
    expect(Buffer.from((await kept.Body?.transformToByteArray()) ?? []).equals(first)).toBe(true);
    expect(await statusOf(disk.send(new GetObjectCommand({ Bucket: 'disk', Key: 'second' })))).toBe(404);
    const listed = await disk.send(new ListObjectsV2Command({ Bucket: 'disk' }));
    expect(listed.Contents?.map((object) => object.Key)).toEqual(['first']);

    await disk.send(new DeleteObjectCommand({ Bucket: 'disk', Key: 'first' }));
    await disk.send(new PutObjectCommand({ Bucket: 'disk', Key: 'second', Body: second }));
    const stored = await disk.send(new GetObjectCommand({ Bucket: 'disk', Key: 'second' }));
    expect(Buffer.from((await stored.Body?.transformToByteArray()) ?? []).equals(second)).toBe(true);
  });
});
