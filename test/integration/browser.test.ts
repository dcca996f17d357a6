import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG } from '../../lambda/emulators/picsum/catalog.js';
import type { BatchResult, Manifest } from '../../lambda/function/contracts/result.js';
import { BatchRecords } from '../../lambda/function/orchestration/batch-records.js';
import { writeBatchFolder } from '../../lambda/local/batch-folder.js';
import { startDevServer } from '../../lambda/local/dev-server.js';
import { chromiumPath } from '../support/chromium.js';
import { type Harness, startHarness } from '../support/harness.js';

const executablePath = chromiumPath();
// In CI a missing browser is a failure (the suite must run); on a laptop without it, a skip that says so.
if (!executablePath && process.env.CI !== 'true') {
  process.stderr.write('browser tests skipped: no chromium (apt-get install chromium, or set CHROMIUM_PATH)\n');
}
/** The README's screenshot of a batch's page, written by the first test below. */
const README_SCREENSHOT = join(process.cwd(), 'docs', 'batch-page.png');
/** Evaluated in the page (a string: this file is type-checked without the DOM's types). */
const ALL_IMAGES_LOADED = '[...document.images].every((image) => image.complete)';

/** Item i of the fault test's batch is photo `photo(i)`: a fault plan picks items by photo. */
const photo = (index: number) => CATALOG[index]?.id ?? '';
const FAILING = new Set([photo(2), photo(5)]);

let harness: Harness;
let server: Awaited<ReturnType<typeof startDevServer>>;
let browser: Browser;

describe.skipIf(!executablePath && process.env.CI !== 'true')('the page, in a real browser (headless Chromium)', () => {
  beforeAll(async () => {
    if (!executablePath) throw new Error('No chromium: `.ci/run` installs it with apt-get; or set CHROMIUM_PATH');
    // The page script, as `npm run dev` builds it.
    await promisify(execFile)(process.execPath, ['lambda/local/build.mjs']);
    // Batches over 10 run in the background (202), as the page follows them; 100 ms per hop, so
    // that one of 12 images at a time runs long enough to be seen running.
    harness = await startHarness({
      picsum: {
        latencyMs: 100,
        faults: (r) => (r.hop === 'base' && FAILING.has(r.photo ?? '') ? { kind: 'status', status: 404 } : undefined),
      },
      env: { SYNC_MAX_COUNT: '10' },
    });
    server = await startDevServer(harness.runtime(), { port: 0, log: { info() {}, error() {} } });
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await harness?.close();
  });

  /** Submits the form with these fields (Enter, from the keyboard), and waits for the batch's view. */
  async function runFromForm(page: Page, fields: Record<string, string>, running?: RegExp): Promise<string> {
    await page.goto(`${server.url}/`);
    for (const [name, value] of Object.entries(fields)) await page.fill(`#f-${name}`, value);
    await page.keyboard.press('Enter');
    // A background batch: the page shows its progress while it runs.
    if (running) await page.waitForSelector(`#status:text-matches("${running.source}")`, { timeout: 30_000 });
    await page.waitForURL(/\/batches\/[^/]+\/view$/, { timeout: 30_000 });
    await page.waitForFunction(ALL_IMAGES_LOADED, undefined, { timeout: 30_000 });
    return /\/batches\/([^/]+)\/view$/.exec(page.url())?.[1] ?? '';
  }

  /** A batch run through the API, as a script would (no page): its result. */
  const runBatch = async (body: object) =>
    (await (
      await fetch(`${server.url}/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json()) as BatchResult;

  const facts = (page: Page) =>
    page.$$eval('[data-fact]', (nodes) =>
      Object.fromEntries(nodes.map((node) => [node.getAttribute('data-fact'), node.textContent])),
    );

  it('runs 12 images from the form, follows them, then shows them, a 12-row waterfall and the result in numbers', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const ids = Array.from({ length: 12 }, (_, i) => photo(10 + i)).join(',');
    const batchId = await runFromForm(page, { count: '12', width: '96', concurrency: '1', ids }, /of 12 done/);

    const widths = await page.$$eval('ul.grid img', (images) => images.map((image) => image.naturalWidth));
    expect(widths).toHaveLength(12);
    expect(widths.every((width) => width === 96)).toBe(true);
    expect(await page.$$eval('svg.waterfall g.row', (rows) => rows.length)).toBe(12);
    // At concurrency 1, one download at a time and one write at a time: each line stays at its limit.
    const strips = await page.$$eval('svg.waterfall g[data-limit]', (groups) =>
      groups.map((group) => [group.getAttribute('class'), group.dataset.limit, group.dataset.most]),
    );
    expect(strips).toEqual([
      ['downloads', '1', '1'],
      ['writes', '1', '1'],
    ]);
    const status = (await (await fetch(`${server.url}/batches/${batchId}`)).json()) as { result: BatchResult };
    const { result } = status;
    expect(await facts(page)).toMatchObject({
      stored: `${result.succeeded} of ${result.requested}`,
      failed: String(result.failed),
      concurrency: String(result.concurrency),
      elapsed: `${(result.elapsedMs / 1000).toFixed(2)} s`,
      retries: '0',
    });
    // The README's picture of the page is this one: it cannot show a page that no longer is.
    await page.screenshot({ path: README_SCREENSHOT, fullPage: true });
    await page.close();
  }, 60_000);

  it('shows failed items as placeholders with their reasons', async () => {
    const page = await browser.newPage();
    await runFromForm(page, { ids: Array.from({ length: 8 }, (_, i) => photo(i)).join(','), width: '64' });

    const failed = await page.$$eval('ul.grid li.failed .placeholder', (nodes) =>
      nodes.map((node) => node.getAttribute('aria-label')),
    );
    expect(failed).toEqual(['Item 2 failed: source_status', 'Item 5 failed: source_status']);
    expect(await page.$$eval('ul.grid img', (images) => images.filter((image) => image.naturalWidth > 0).length)).toBe(
      6,
    );
    expect(await facts(page)).toMatchObject({ stored: '6 of 8', failed: '2' });

    // The source heals; the page's Retry button runs the two unfinished items again and shows the batch whole.
    FAILING.clear();
    try {
      await page.click('#retry');
      await page.waitForFunction('document.querySelectorAll("ul.grid li.failed").length === 0', undefined, {
        timeout: 30_000,
      });
      await page.waitForFunction(ALL_IMAGES_LOADED);
      expect(await facts(page)).toMatchObject({ stored: '8 of 8', failed: '0', retries: '1' });
      // Each run with its own time, and its own waterfall: the first run's six items, the retry's two.
      expect(await page.$$eval('table.runs tbody tr', (rows) => rows.map((row) => row.dataset.run))).toEqual([
        '0',
        '1',
      ]);
      expect(
        await page.$$eval('svg.waterfall', (charts) => charts.map((chart) => chart.querySelectorAll('g.row').length)),
      ).toEqual([6, 2]);
      expect(await page.$$('#retry')).toHaveLength(0);
    } finally {
      for (const index of [2, 5]) FAILING.add(photo(index));
    }
    await page.close();
  }, 60_000);

  it('lists the newest batches on the home page, each linking to its view', async () => {
    const { batchId } = await runBatch({ count: 1, width: 16 });
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);

    const rows = await page.$$eval('#recent tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.some((row) => row.startsWith(`${batchId}done101`))).toBe(true);
    await page.click(`#recent a[href="/batches/${batchId}/view"]`);
    await page.waitForURL(new RegExp(`/batches/${batchId}/view$`));
    await page.close();
  }, 60_000);

  it("shows the API's validation message beside the field it names, and starts nothing", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    const before = harness.picsum.requests.length;
    await page.fill('#f-width', '6000');
    await page.click('button[type=submit]');

    await expect
      .poll(() => page.textContent('[data-error-for="width"]'))
      .toBe('Expected `width` to be an integer from 1 to 5000, got 6000');
    expect(await page.getAttribute('#f-width', 'aria-invalid')).toBe('true');
    expect(harness.picsum.requests.length).toBe(before);
    await page.close();
  });

  it("opens report.html from the batch's folder (npm start's .data/batches/{batchId}, or --out) with its images, from disk", async () => {
    const result = await runBatch({ count: 5, width: 48 });
    const directory = await mkdtemp(join(tmpdir(), 'picsum-batch-folder-'));
    try {
      const manifest = await new BatchRecords(harness).manifest(result.batchId);
      const { folder } = await writeBatchFolder(result.batchId, manifest as Manifest, harness.runtime(), directory);
      const page = await browser.newPage();
      await page.goto(pathToFileURL(join(folder, 'report.html')).href);
      await page.waitForFunction(ALL_IMAGES_LOADED);

      const widths = await page.$$eval('img', (images) => images.map((image) => image.naturalWidth));
      expect(widths).toEqual([48, 48, 48, 48, 48]);
      await page.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }, 60_000);

  it("opens a finished batch's presigned report link, with its images and manifest, with no credentials", async () => {
    const { links } = await runBatch({ count: 4, width: 40 });
    const page = await browser.newPage();
    await page.goto(links?.report ?? 'about:blank');
    await page.waitForFunction(ALL_IMAGES_LOADED);

    const widths = await page.$$eval('img', (images) => images.map((image) => image.naturalWidth));
    expect(widths).toEqual([40, 40, 40, 40]);
    await page.click('#manifest');
    expect(JSON.parse((await page.textContent('body')) ?? '')).toMatchObject({ batchId: expect.any(String) });
    await page.close();
  }, 60_000);

  it("deletes a batch from its view's Delete button, once asked, and goes back to the form without it", async () => {
    const { batchId, prefix } = await runBatch({ count: 2, width: 24 });
    const page = await browser.newPage();
    await page.goto(`${server.url}/batches/${batchId}/view`);
    // Dismissed first: nothing is deleted.
    page.once('dialog', (dialog) => dialog.dismiss());
    await page.click('#delete');
    expect((await harness.keys(prefix)).length).toBeGreaterThan(0);
    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#delete');
    await page.waitForURL(`${server.url}/`);

    expect(await harness.keys(prefix)).toEqual([]);
    expect(await page.content()).not.toContain(batchId);
    await page.close();
  }, 60_000);

  it('gives a page on another origin no way in: no form upload to the embedded S3, no HTML served as the dev server, no batch started', async () => {
    // A batch to plant beside, then the attacker's page on another loopback port.
    const planted = await runBatch({ count: 1, width: 8 });
    const key = `${planted.prefix}evil.html`;
    const evil = '<script>fetch("/batches",{method:"POST",body:JSON.stringify({count:3,width:9})})</script>';
    const attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><script>
        const form = new FormData();
        form.append('key', ${JSON.stringify(key)});
        form.append('Content-Type', 'text/html');
        form.append('file', new Blob([${JSON.stringify(evil).replaceAll('<', '\\u003c')}], { type: 'text/html' }), 'evil.html');
        fetch(${JSON.stringify(`${harness.s3server.endpoint}/${harness.config.bucket}`)}, { method: 'POST', mode: 'no-cors', body: form })
          .catch(() => {})
          .finally(() => { location.href = ${JSON.stringify(`${server.url}/batches/${planted.batchId}/objects/evil.html`)}; });
      </script>`);
    });
    attacker.listen(0, '127.0.0.1');
    await once(attacker, 'listening');
    const batchesBefore = (await harness.keys()).filter((k) => k.endsWith('/manifest.json')).length;
    const page = await browser.newPage();

    await page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
    await page.waitForURL(/\/objects\/evil\.html$/, { timeout: 15_000 });

    expect(await page.textContent('h1')).toBe('Not found');
    expect(await harness.keys()).not.toContain(key);
    // Give a planted script the time it would have needed to start a batch.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await harness.keys()).filter((k) => k.endsWith('/manifest.json'))).toHaveLength(batchesBefore);
    await page.close();
    attacker.close();
  }, 60_000);

  it('refuses a rebound name for the embedded S3 and the dev server: the bucket is not listed to it', async () => {
    const rebinding = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--host-resolver-rules=MAP rebound.test 127.0.0.1'],
    });
    const page = await rebinding.newPage();
    const s3Port = new URL(harness.s3server.endpoint).port;
    const devPort = new URL(server.url).port;

    const listing = await page.goto(`http://rebound.test:${s3Port}/${harness.config.bucket}?list-type=2`);
    const listed = await listing?.text();
    const batches = await page.goto(`http://rebound.test:${devPort}/batches`);

    expect(listing?.status()).toBe(403);
    expect(listed).not.toContain('manifest.json');
    expect(batches?.status()).toBe(403);
    await rebinding.close();
  }, 60_000);
});
