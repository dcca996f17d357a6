import { PutObjectCommand } from '@aws-sdk/client-s3';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchResult, Manifest } from '../../lambda/function/contracts/result.js';
import { devServers } from '../support/dev-servers.js';
import { type Harness, sha256, startHarness } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());
const servers = devServers();

async function devServer() {
  harness = await startHarness();
  const server = await servers.start(harness);
  return async (path: string, init: { method?: 'GET' | 'POST'; accept?: string; body?: object } = {}) => {
    const response = await request(`${server.url}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.accept ? { accept: init.accept } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
    const body = Buffer.from(await response.body.arrayBuffer());
    const { headers } = response;
    return { status: response.statusCode, type: String(headers['content-type']), headers, body, text: body.toString() };
  };
}

const BROWSER = 'text/html,application/xhtml+xml,*/*;q=0.8';

describe('the dev server pages', () => {
  it("serves a form for a batch at /, with the request's fields and their limits", async () => {
    const get = await devServer();
    const page = await get('/', { accept: BROWSER });
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html; charset=utf-8');
    for (const name of [
      'count',
      'width',
      'height',
      'concurrency',
      'grayscale',
      'blur',
      'format',
      'seed',
      'distinct',
      'ids',
    ]) {
      expect(page.text).toContain(`name="${name}"`);
      expect(page.text).toContain(`<label for="f-${name}">`);
    }
    expect(page.text).toContain('id="f-count" name="count" type="number" min="1" max="100000"');
    expect(page.text).toContain('<script type="module" src="/assets/page.js">');
  });

  it("shows a batch's view with its images served from S3, and leaves the JSON API as it was", async () => {
    const call = await devServer();
    const batch = JSON.parse((await call('/batches', { method: 'POST', body: { count: 4, width: 32 } })).text);

    const view = await call(`/batches/${batch.batchId}/view`);
    const asHtml = await call(`/batches/${batch.batchId}`, { accept: BROWSER });
    const asJson = await call(`/batches/${batch.batchId}`);

    expect(view.status).toBe(200);
    expect(asHtml.text).toBe(view.text);
    expect(JSON.parse(asJson.text)).toMatchObject({ status: 'done', result: { succeeded: 4 } });
    const sources = [...view.text.matchAll(/<img src="([^"]+)"/g)].map((match) => match[1] ?? '');
    expect(sources).toHaveLength(4);
    for (const source of sources) {
      const image = await call(source);
      expect(image).toMatchObject({ status: 200, type: 'image/jpeg' });
      expect(image.body.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    }
    expect((await call(`/batches/${batch.batchId}/objects/manifest.json`)).type).toBe('application/json');
    expect((await call('/batches/20260101T000000Z-00000000/view')).status).toBe(404);
    expect((await call(`/batches/${batch.batchId}/objects/..%2Fsecret`)).status).toBe(404);
  });
});

describe('links a caller opens without credentials', () => {
  it('answers a finished batch with presigned URLs of its manifest and its page, whose images open too', async () => {
    harness = await startHarness({ env: { LINK_EXPIRY_S: '900' } });
    const server = await servers.start(harness);
    const api = async (path: string, init: RequestInit = {}) => (await fetch(`${server.url}${path}`, init)).json();
    const ran = (await api('/batches', {
      method: 'POST',
      body: JSON.stringify({ count: 3, width: 16 }),
      headers: { 'content-type': 'application/json' },
    })) as BatchResult;
    const status = (await api(`/batches/${ran.batchId}`)) as { result: BatchResult };
    const manifest = JSON.parse((await harness.object(ran.manifestKey)).bytes.toString()) as Manifest;

    // The 200 of the batch and its status both carry links, as the result's `links` (never the manifest's).
    expect(Object.keys(ran.links ?? {})).toEqual(['manifest', 'report', 'expiresAt']);
    expect(Object.keys(status.result.links ?? {})).toEqual(['manifest', 'report', 'expiresAt']);
    expect(manifest.result.links).toBeUndefined();
    const links = status.result.links as NonNullable<BatchResult['links']>;
    expect(new URL(links.manifest).searchParams.get('X-Amz-Expires')).toBe('900');
    expect(
      Date.parse(links.expiresAt) -
        Date.parse(
          new URL(links.manifest).searchParams
            .get('X-Amz-Date')
            ?.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z') ?? '',
        ),
    ).toBe(900_000);
    // Plain GETs, no credentials: what a browser or curl does with them.
    expect(await (await fetch(links.manifest)).json()).toEqual(manifest);
    const page = await fetch(links.report);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    const images = [...html.matchAll(/<img src="([^"]+)"/g)].map((match) => (match[1] ?? '').replaceAll('&amp;', '&'));
    expect(images).toHaveLength(3);
    for (const [i, url] of images.entries()) {
      const image = await fetch(url);
      expect(image.status).toBe(200);
      const item = manifest.items[i];
      expect(sha256(Buffer.from(await image.arrayBuffer()))).toBe(item?.ok && item.sha256);
    }
    // The same object without the signature is refused: the bucket stays private.
    const unsigned = new URL(links.manifest);
    unsigned.search = '';
    expect((await fetch(unsigned)).status).toBe(403);
  });
});

describe("a large batch's view", () => {
  it('lists a page of its items at a time (?page=N), each page linking the next, and answers 404 for a page it does not have', async () => {
    const call = await devServer();
    // Over the default SYNC_MAX_COUNT (100): it runs on the local engine.
    const batch = JSON.parse((await call('/batches', { method: 'POST', body: { count: 150, width: 8 } })).text);
    await expect
      .poll(async () => JSON.parse((await call(`/batches/${batch.batchId}`)).text).status, { timeout: 20_000 })
      .toBe('done');
    const view = `/batches/${batch.batchId}/view`;
    const images = (text: string) => [...text.matchAll(/<img src="[^"]+"/g)].length;

    const first = await call(view);
    const second = await call(`${view}?page=2`);

    expect([first.status, images(first.text)]).toEqual([200, 100]);
    expect(first.text).toContain(`<a href="${view}?page=2#images" rel="next">Next</a>`);
    expect([second.status, images(second.text)]).toEqual([200, 50]);
    expect(second.text).toContain('<tr id="item-149">');
    expect(second.text).toContain('Items 101–150 of 150 (page 2 of 2)');
    for (const page of ['3', '0', 'x', '-1']) expect((await call(`${view}?page=${page}`)).status).toBe(404);
  });
});

describe("a batch's objects on the dev server's origin", () => {
  it('serves only what a batch writes, each as its own type, never sniffed, never running script', async () => {
    const call = await devServer();
    const batch = JSON.parse((await call('/batches', { method: 'POST', body: { count: 1, width: 8 } })).text);
    const image = (await harness.keys()).find((key) => key.startsWith(batch.prefix) && key.endsWith('.jpg')) ?? '';
    // Objects in the batch's folder that no batch writes: HTML, and HTML stored under an image's name.
    const plant = (name: string, type: string) =>
      harness.s3.send(
        new PutObjectCommand({
          Bucket: harness.config.bucket,
          Key: `${batch.prefix}${name}`,
          Body: '<script>1</script>',
          ContentType: type,
        }),
      );
    await plant('evil.html', 'text/html');
    await plant('9-evil.jpg', 'text/html');

    const served = await Promise.all(
      [image.slice(batch.prefix.length), 'manifest.json', 'report.html'].map((name) =>
        call(`/batches/${batch.batchId}/objects/${name}`),
      ),
    );

    expect(served.map((object) => [object.status, object.type])).toEqual([
      [200, 'image/jpeg'],
      [200, 'application/json'],
      [200, 'text/html; charset=utf-8'],
    ]);
    for (const object of served) {
      expect(object.headers['x-content-type-options']).toBe('nosniff');
      expect(object.headers['content-security-policy']).toMatch(/default-src 'none'.*sandbox/);
      expect(object.headers['content-security-policy']).not.toMatch(/script-src/);
    }
    expect((await call(`/batches/${batch.batchId}/objects/evil.html`)).status).toBe(404);
    expect((await call(`/batches/${batch.batchId}/objects/9-evil.jpg`)).status).toBe(404);
    expect((await call(`/batches/${batch.batchId}/objects/status.json`)).status).toBe(404);
  });

  it('answers 400 to malformed percent-encoding in a page route, not 500', async () => {
    const call = await devServer();

    expect((await call('/batches/%E0%A4%A/view')).status).toBe(400);
    expect((await call('/batches/%E0%A4%A', { accept: BROWSER })).status).toBe(400);
    expect((await call('/batches/20260101T000000Z-00000000/objects/%E0%A4%A')).status).toBe(400);
  });
});

describe('report.html beside every manifest', () => {
  it('is written with the manifest: the same view, self-contained, images by their keys beside it', async () => {
    const call = await devServer();
    const batch = JSON.parse((await call('/batches', { method: 'POST', body: { count: 3, width: 32 } })).text);

    const report = await harness.object(`${batch.prefix}report.html`);

    expect(report.contentType).toBe('text/html; charset=utf-8');
    const html = report.bytes.toString();
    const keys = (await harness.keys()).filter((key) => key.startsWith(batch.prefix) && key.endsWith('.jpg'));
    const sources = [...html.matchAll(/<img src="([^"]+)"/g)].map((match) => match[1]);
    expect(sources.sort()).toEqual(keys.map((key) => key.slice(batch.prefix.length)).sort());
    expect(html).toContain('href="manifest.json"');
    expect(html).not.toMatch(/<script|<link|https?:\/\/[^"]*\.(css|js)/);
  });
});
