import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayAnswer } from '../../lambda/api-description/gateway-answers.js';
import type { BatchResult, Manifest } from '../../lambda/function/contracts/result.js';
import { BatchService } from '../../lambda/function/orchestration/batch-service.js';
import { ENGINE_LIMIT, startDevServer } from '../../lambda/local/dev-server.js';
import { type Harness, startHarness } from '../support/harness.js';

let harness: Harness;
let server: Awaited<ReturnType<typeof startDevServer>>;
/** What the server logged with `info`: its requests and the batch events it would put. */
const logged: [string, unknown][] = [];

beforeAll(async () => {
  harness = await startHarness({ env: { SYNC_MAX_COUNT: '5' } });
  server = await startDevServer(harness.runtime(), {
    port: 0,
    log: { info: (message, extra) => logged.push([message, extra]), error() {} },
  });
});
afterAll(async () => {
  await server?.close();
  await harness?.close();
});

async function call(method: string, path: string, body?: string, contentType = 'application/json') {
  const response = await request(`${server.url}${path}`, {
    method: method as 'GET',
    body,
    headers: body === undefined ? {} : { 'content-type': contentType },
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, json: JSON.parse(text) };
}

describe('the dev server, as API Gateway would call the handler', () => {
  it('runs a small batch synchronously and answers the result', async () => {
    const { status, json } = await call('POST', '/batches', JSON.stringify({ count: 2, width: 32 }));

    expect(status).toBe(200);
    expect(json).toMatchObject({ requested: 2, succeeded: 2, failed: 0, bucket: 'test-bucket' });
  });

  it('answers 202 for a batch over SYNC_MAX_COUNT and reports it done from the manifest', async () => {
    const accepted = await call('POST', '/batches', JSON.stringify({ count: 6, width: 16 }));
    expect(accepted.status).toBe(202);
    expect(accepted.json.statusUrl).toBe(`/batches/${accepted.json.batchId}`);
    expect(accepted.headers.location).toBe(`/batches/${accepted.json.batchId}`);

    await expect
      .poll(async () => (await call('GET', accepted.json.statusUrl)).json.status, { timeout: 10_000, interval: 50 })
      .toBe('done');
    const status = await call('GET', accepted.json.statusUrl);
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({ status: 'done', result: { batchId: accepted.json.batchId, succeeded: 6 } });
  });

  it.each([
    ['malformed JSON', '{"count":', 400, 'INVALID_JSON', 'body'],
    ['a wrong type', '{"count":"five"}', 400, 'INVALID_FIELD', 'count'],
    ['an out-of-range number', '{"width":99999}', 400, 'INVALID_FIELD', 'width'],
    ['an unknown field', '{"count":1,"size":3}', 400, 'UNKNOWN_FIELD', 'size'],
    ['an array', '[1,2]', 400, 'INVALID_BODY', 'body'],
    ['null', 'null', 400, 'INVALID_BODY', 'body'],
    ['a number', '3', 400, 'INVALID_BODY', 'body'],
    ['a body over 1 MB', JSON.stringify({ seed: 'x'.repeat(1_100_000) }), 413, 'BODY_TOO_LARGE', undefined],
  ])('refuses %s with a JSON 4xx', async (_name, body, expectedStatus, code, field) => {
    const { status, json, headers } = await call('POST', '/batches', body);

    expect(status).toBe(expectedStatus);
    expect(headers['content-type']).toMatch(/application\/json/);
    expect(json.error.code).toBe(code);
    expect(json.error.field).toBe(field);
    expect(JSON.stringify(json)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('logs the event each batch would put on EventBridge as it ends, once', async () => {
    const { json } = await call('POST', '/batches', JSON.stringify({ count: 1, width: 8 }));

    const events = logged.filter(([message]) => message.startsWith('event '));
    expect(events.filter(([, detail]) => (detail as { batchId: string }).batchId === json.batchId)).toEqual([
      [
        'event Batch Done',
        expect.objectContaining({
          batchId: json.batchId,
          status: 'done',
          succeeded: 1,
          manifestKey: json.manifestKey,
          bucket: 'test-bucket',
        }),
      ],
    ]);
  });

  it("offers Retry on a batch's view only when this server can run it; from another source, the command that can", async () => {
    const ran = await call('POST', '/batches', JSON.stringify({ count: 2, width: 8 }));
    const { batchId } = ran.json as BatchResult;
    const key = `images/${batchId}/manifest.json`;
    const stored = await harness.s3.send(new GetObjectCommand({ Bucket: harness.config.bucket, Key: key }));
    const manifest = JSON.parse((await stored.Body?.transformToString()) ?? '{}') as Manifest;
    // One item left unfinished, as a batch with a failure is.
    const [first] = manifest.items;
    manifest.items[0] = {
      index: first?.index ?? 0,
      ok: false,
      reason: 'source_status',
      message: 'HTTP 503',
      attempts: 4,
      latencyMs: 9,
    };
    const view = async () => (await request(`${server.url}/batches/${batchId}/view`)).body.text();
    await harness.s3.send(
      new PutObjectCommand({ Bucket: harness.config.bucket, Key: key, Body: JSON.stringify(manifest) }),
    );
    expect(await view()).toContain('<button id="retry"');

    manifest.result.source = 'https://elsewhere.example/';
    await harness.s3.send(
      new PutObjectCommand({ Bucket: harness.config.bucket, Key: key, Body: JSON.stringify(manifest) }),
    );
    const elsewhere = await view();
    expect(elsewhere).not.toContain('<button id="retry"');
    expect(elsewhere).toContain(`<code>npm start -- --retry ${batchId} --source https://elsewhere.example/</code>`);
    // The server would refuse it: the page no longer offers what it cannot do.
    expect((await call('POST', `/batches/${batchId}/retry`, '{}')).json).toMatchObject({
      error: { code: 'OTHER_SOURCE' },
    });
  });

  it("shows the form's defaults in its fields, and names the source the images come from", async () => {
    const html = await (await request(`${server.url}/`)).body.text();

    expect(html).toMatch(/id="f-count"[^>]*placeholder="15"/);
    expect(html).toMatch(/id="f-width"[^>]*placeholder="600"/);
    expect(html).toMatch(new RegExp(`id="f-concurrency"[^>]*placeholder="${harness.config.defaultConcurrency}"`));
    expect(html).toContain('<option value="">default (jpg)</option>');
    expect(html).toContain(`<span data-fact="source">${harness.config.source}</span>`);
  });

  it('answers its home page and the listing when one record is unreadable, listing that batch as such', async () => {
    const badId = '20261206T000001Z-badbad01';
    const bad = { Bucket: harness.config.bucket, Key: `images/${badId}/manifest.json` };
    await request(`${server.url}/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 1, width: 8 }),
    }).then((response) => response.body.dump());
    await harness.s3.send(new PutObjectCommand({ ...bad, Body: '{"batchId":' }));
    try {
      const home = await request(`${server.url}/`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
      const homeHtml = await home.body.text();
      const list = await request(`${server.url}/batches`);
      const page = (await list.body.json()) as { batches: { batchId: string; status: string; error?: string }[] };

      expect(home.statusCode).toBe(200);
      expect(homeHtml).toContain(badId);
      expect(homeHtml).toContain('unreadable record');
      expect(list.statusCode).toBe(200);
      expect(page.batches.find((batch) => batch.batchId === badId)).toMatchObject({
        status: 'unreadable',
        error: expect.stringMatching(/is not valid JSON/),
      });
      expect(page.batches.some((batch) => batch.status === 'done')).toBe(true);
    } finally {
      await harness.s3.send(new DeleteObjectCommand(bad));
    }
  });

  it('refuses a body over 10 MB as API Gateway would, from the same gateway answer the stack deploys', async () => {
    const { status, json, headers } = await call('POST', '/batches', 'x'.repeat(10 * 1024 * 1024 + 1));
    const gateway = gatewayAnswer('REQUEST_TOO_LARGE');
    expect(status).toBe(gateway.statusCode);
    expect(json).toEqual(JSON.parse(gateway.body));
    expect(json).toEqual({ error: { code: 'BODY_TOO_LARGE', message: 'Request body is over 10 MB' } });
    expect(headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('answers an unknown route 404 and an unknown method 405, as the deployed API does (its ANY methods reach the function)', async () => {
    const missing = await call('GET', '/nothing/here');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('NOT_FOUND');
    const wrong = await call('DELETE', '/batches');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, POST');
  });

  it('refuses a body that is not JSON with 415', async () => {
    const { status, json } = await call('POST', '/batches', 'count=3', 'application/x-www-form-urlencoded');

    expect(status).toBe(415);
    expect(json.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('deletes every object of a finished batch, answers what it removed, and deletes it again as nothing', async () => {
    const ran = await call('POST', '/batches', JSON.stringify({ count: 3, width: 16 }));
    const { batchId, prefix } = ran.json as BatchResult;
    await call('GET', `/batches/${batchId}`); // (its links: linked-report.html is one of its objects too)
    const objects = await harness.keys(prefix);
    const bytes = (await Promise.all(objects.map((key) => harness.object(key)))).reduce(
      (sum, object) => sum + object.bytes.length,
      0,
    );
    const other = await call('POST', '/batches', JSON.stringify({ count: 1, width: 16 }));

    const deleted = await call('DELETE', `/batches/${batchId}`);
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({
      batchId,
      status: 'deleted',
      deleted: { images: 3, documents: objects.length - 3, bytes },
    });
    expect(await harness.keys(prefix)).toEqual([]);
    expect((await call('GET', `/batches/${batchId}`)).status).toBe(404);
    const listed = (await call('GET', '/batches?limit=100')).json.batches.map(
      (batch: { batchId: string }) => batch.batchId,
    );
    expect(listed).not.toContain(batchId);
    expect(listed).toContain(other.json.batchId);
    expect((await harness.keys(other.json.prefix)).length).toBeGreaterThan(1);
    // Idempotent: deleting it again removes nothing, and says so.
    const again = await call('DELETE', `/batches/${batchId}`);
    expect([again.status, again.json.deleted]).toEqual([200, { images: 0, documents: 0, bytes: 0 }]);
    expect((await call('DELETE', '/batches/no.such')).status).toBe(400);
  });

  it('answers 405 with Allow for a wrong method and 404 for an unknown route', async () => {
    const wrongMethod = await call('DELETE', '/batches');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, POST');
    const onBatch = await call('POST', '/batches/abc');
    expect([onBatch.status, onBatch.headers.allow]).toEqual([405, 'GET, DELETE']);
    expect((await call('GET', '/images')).status).toBe(404);
  });

  it('lists batches newest first with their status and counts, a page at a time by cursor', async () => {
    // Three batches of known times, one of them scheduled (its time at the end of its id), one failed.
    const ids = ['20300101T000001Z-aaaaaaaa', 'nightly-20300101T000003Z', '20300101T000002Z-bbbbbbbb'];
    const done = (batchId: string) => ({
      batchId,
      status: 'done',
      result: { batchId, requested: 3, succeeded: 2, failed: 1, finishedAt: '2030-01-01T00:01:00.000Z', retries: 1 },
    });
    const failed = {
      batchId: ids[2],
      status: 'failed',
      requested: 4,
      error: 'launch_failed',
      cause: 'x',
      failedAt: '2030-01-01T00:00:09.000Z',
    };
    for (const status of [done(ids[0] ?? ''), done(ids[1] ?? ''), failed]) {
      await harness.s3.send(
        new PutObjectCommand({
          Bucket: harness.config.bucket,
          Key: `images/${status.batchId}/status.json`,
          Body: JSON.stringify(status),
        }),
      );
    }

    const first = await call('GET', '/batches?limit=2');
    expect(first.status).toBe(200);
    expect(first.json.batches).toEqual([
      {
        batchId: 'nightly-20300101T000003Z',
        status: 'done',
        requested: 3,
        succeeded: 2,
        failed: 1,
        createdAt: '2030-01-01T00:00:03.000Z',
        finishedAt: '2030-01-01T00:01:00.000Z',
        retries: 1,
      },
      {
        batchId: '20300101T000002Z-bbbbbbbb',
        status: 'failed',
        requested: 4,
        succeeded: 0,
        failed: 0,
        createdAt: '2030-01-01T00:00:02.000Z',
        finishedAt: '2030-01-01T00:00:09.000Z',
        error: 'launch_failed',
      },
    ]);
    expect(first.json.next).toBe('20300101T000002Z-bbbbbbbb');
    const second = await call('GET', `/batches?limit=2&cursor=${first.json.next}`);
    expect(second.json.batches[0]).toMatchObject({ batchId: '20300101T000001Z-aaaaaaaa', status: 'done' });
    // Older batches of the earlier tests follow; the idempotency folder is not one.
    const all = await call('GET', '/batches?limit=100');
    expect(all.json.batches.map((batch: { batchId: string }) => batch.batchId)).not.toContain('idempotency');
    expect(all.json.next).toBeUndefined();
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=..%2Fx', 'cursor'],
    ['cursor=idempotency', 'cursor'],
  ])('refuses GET /batches?%s with 400 naming the field', async (query, field) => {
    const { status, json } = await call('GET', `/batches?${query}`);

    expect(status).toBe(400);
    expect(json.error.field).toBe(field);
  });

  it('refuses a query parameter a route does not take, naming it, as it refuses an unknown body field', async () => {
    for (const [path, name] of [
      ['/batches?limit=1&x=42', 'x'],
      ['/batches?limt=5', 'limt'],
      ['/batches/20200101T000000Z-00000000?verbose=1', 'verbose'],
    ] as const) {
      const { status, json } = await call('GET', path);
      expect(status).toBe(400);
      expect(json.error).toMatchObject({ code: 'UNKNOWN_FIELD', field: name });
    }
    // The parameters GET /batches takes are still taken.
    expect((await call('GET', '/batches?limit=1&cursor=20991231T000000Z-00000000')).status).toBe(200);
  });

  it('answers 404 for an unknown batch and 400 for an id that cannot be one', async () => {
    expect((await call('GET', '/batches/20200101T000000Z-00000000')).status).toBe(404);
    const bad = await call('GET', '/batches/..%2F..%2Fsecret');
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe('batchId');
    expect((await call('GET', '/batches/a.b')).status).toBe(400);
  });

  it('refuses deeply nested JSON with a 400, not a 500', async () => {
    const nested = `{"count":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const deeper = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;

    const field = await call('POST', '/batches', nested);
    const body = await call('POST', '/batches', deeper);

    expect(field.status).toBe(400);
    expect(field.json.error).toMatchObject({ code: 'INVALID_FIELD', field: 'count' });
    expect(body.status).toBe(400);
    expect(body.json.error.field).toBe('body');
  });

  it('keeps serving after all of the above', async () => {
    const { status, json } = await call('POST', '/batches', JSON.stringify({ count: 1, width: 8 }));

    expect(status).toBe(200);
    expect(json.succeeded).toBe(1);
  });
});

describe('the dev server stopping', () => {
  it('cancels the batches it runs and waits for their manifests, so none is left running', async () => {
    const slow = await startHarness({ env: { SYNC_MAX_COUNT: '5' }, picsum: { latencyMs: 40 } });
    const own = await startDevServer(slow.runtime(), { port: 0, log: { info() {}, error() {} } });
    try {
      const response = await request(`${own.url}/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ count: 300, concurrency: 2, width: 16 }),
      });
      const { batchId } = (await response.body.json()) as { batchId: string };
      await expect.poll(() => slow.picsum.requests.length, { timeout: 10_000, interval: 10 }).toBeGreaterThanOrEqual(6);

      await own.close();

      const status = await new BatchService(slow.config, slow.deps).status(batchId);
      expect(status).toMatchObject({ batchId, status: 'cancelled', result: { status: 'cancelled', requested: 300 } });
      const result = (status as { result: BatchResult }).result;
      expect(result.succeeded + result.failed).toBe(300);
      expect(result.failures.every((failure) => failure.reason === 'cancelled')).toBe(true);
    } finally {
      await own.close();
      await slow.close();
    }
  });
});

describe('the dev server against web pages and bursts', () => {
  it('runs the defaults for a body-less POST without Content-Type, and refuses the same POST from another origin, starting nothing', async () => {
    const before = harness.picsum.requests.length;
    const foreign = await request(`${server.url}/batches`, {
      method: 'POST',
      headers: { origin: 'https://example.com' },
    });
    expect(foreign.statusCode).toBe(403);
    await foreign.body.dump();
    expect(harness.picsum.requests.length).toBe(before);

    // The default count, 15, is over this server's SYNC_MAX_COUNT: accepted, then done.
    const response = await request(`${server.url}/batches`, { method: 'POST' });
    expect(response.statusCode).toBe(202);
    const { statusUrl } = (await response.body.json()) as { statusUrl: string };
    await expect
      .poll(async () => (await call('GET', statusUrl)).json.status, { timeout: 10_000, interval: 50 })
      .toBe('done');
    expect((await call('GET', statusUrl)).json.result).toMatchObject({ requested: 15, succeeded: 15 });
  });

  it('refuses a foreign Host (DNS rebinding) and a cross-origin request, and serves its own origin', async () => {
    const port = new URL(server.url).port;
    const send = async (headers: Record<string, string>) => {
      const response = await request(`${server.url}/batches/x`, { method: 'GET', headers });
      const body = (await response.body.json()) as { error?: { code: string } };
      return { status: response.statusCode, code: body.error?.code };
    };

    expect(await send({ host: `rebound.example:${port}` })).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await send({ origin: 'https://evil.example' })).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect((await send({ origin: `http://localhost:${port}` })).status).toBe(404);
    expect((await send({ host: `localhost:${port}` })).status).toBe(404);
  });

  it('bounds the batches on its engine: one more answers 503 with Retry-After and records nothing; stopping ends every batch', async () => {
    const slow = await startHarness({ env: { SYNC_MAX_COUNT: '1' }, picsum: { latencyMs: 30 } });
    const own = await startDevServer(slow.runtime(), { port: 0, log: { info() {}, error() {} } });
    try {
      const answers = [];
      for (let i = 0; i <= ENGINE_LIMIT; i++) {
        const response = await request(`${own.url}/batches`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ count: 40, concurrency: 1, width: 8 }),
        });
        answers.push({
          status: response.statusCode,
          headers: response.headers,
          body: (await response.body.json()) as { batchId: string },
        });
      }

      expect(answers.slice(0, ENGINE_LIMIT).map((answer) => answer.status)).toEqual(Array(ENGINE_LIMIT).fill(202));
      const refused = answers[ENGINE_LIMIT];
      expect(refused?.status).toBe(503);
      expect(refused?.headers['retry-after']).toMatch(/^\d+$/);
      // The engine refused it, said as such; with no Idempotency-Key sent, none is what to repeat.
      const refusal = refused?.body as unknown as { error: { code: string; message: string } } | undefined;
      expect(refusal?.error.code).toBe('QUEUE_FULL');
      expect(refusal?.error.message).toMatch(/repeat the request to run it as a new batch/);
      expect(refusal?.error.message).not.toMatch(/Idempotency-Key/);

      await own.close();

      const states = await Promise.all(
        answers.map((answer) => new BatchService(slow.config, slow.deps).status(answer.body.batchId)),
      );
      // Each batch it ran ends with its manifest, cancelled; the refused one left nothing at all.
      expect(states.map((state) => state?.status)).toEqual([...Array(ENGINE_LIMIT).fill('cancelled'), undefined]);
    } finally {
      await own.close();
      await slow.close();
    }
  });

  it('refuses to delete a batch while it runs (409, nothing removed), and deletes it once it has ended', async () => {
    const slow = await startHarness({ env: { SYNC_MAX_COUNT: '1' }, picsum: { latencyMs: 30 } });
    const own = await startDevServer(slow.runtime(), { port: 0, log: { info() {}, error() {} } });
    const send = async (method: 'POST' | 'GET' | 'DELETE', path: string, body?: object) => {
      const response = await request(`${own.url}${path}`, {
        method,
        ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      });
      return {
        status: response.statusCode,
        json: (await response.body.json()) as { batchId: string; status: string; result?: unknown },
      };
    };
    try {
      const accepted = await send('POST', '/batches', { count: 20, concurrency: 1, width: 8 });
      const { batchId } = accepted.json;
      await expect.poll(async () => (await slow.keys()).length).toBeGreaterThan(0);

      const refused = await send('DELETE', `/batches/${batchId}`);
      expect(refused.status).toBe(409);
      expect(refused.json).toMatchObject({ error: { code: 'BATCH_RUNNING' }, batchId });
      await expect
        .poll(async () => (await send('GET', `/batches/${batchId}`)).json.status, { timeout: 20_000 })
        .toBe('done');
      expect((await send('GET', `/batches/${batchId}`)).json.result).toMatchObject({ succeeded: 20 });

      const deleted = await send('DELETE', `/batches/${batchId}`);
      expect(deleted.status).toBe(200);
      expect(deleted.json).toMatchObject({ status: 'deleted', deleted: { images: 20 } });
      expect(await slow.keys(`${slow.config.keyPrefix}${batchId}/`)).toEqual([]);
    } finally {
      await own.close();
      await slow.close();
    }
  });

  it('answers a repeat of a synchronous batch still running with a status URL that works', async () => {
    const slow = await startHarness({ picsum: { latencyMs: 30 } });
    const own = await startDevServer(slow.runtime(), { port: 0, log: { info() {}, error() {} } });
    const post = () =>
      request(`${own.url}/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'still-running' },
        body: JSON.stringify({ count: 30, concurrency: 1, width: 8 }),
      });
    try {
      const first = post();
      await expect.poll(() => slow.picsum.requests.length, { timeout: 10_000, interval: 10 }).toBeGreaterThanOrEqual(2);

      // The status record is being rewritten as the batch runs; the embedded S3 replaces it whole.
      const repeat = await post();
      const { statusUrl } = (await repeat.body.json()) as { statusUrl: string };
      const status = await request(`${own.url}${statusUrl}`);

      expect(repeat.statusCode).toBe(202);
      expect(status.statusCode).toBe(200);
      expect(await status.body.json()).toMatchObject({ status: 'running', requested: 30 });
      expect((await first).statusCode).toBe(200);
    } finally {
      await own.close();
      await slow.close();
    }
  });
});
