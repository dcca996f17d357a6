import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { startDevServer } from '../../lambda/local/dev-server.js';
import { chromiumPath } from '../support/chromium.js';
import { startHarness } from '../support/harness.js';
import { median } from './measure.js';

export type PageLoad = { sizes: { count: number; loadMs: number; htmlBytes: number }[]; runs: number };

/**
 * A batch's view in headless Chromium, for batches of each of `counts` 8-pixel images run through
 * the dev server: the median over `runs` of the time from navigation to the load event (every image
 * the page asks for eagerly, styles, script), the sizes measured in turn, one fresh page each.
 */
export async function pageLoad(counts: readonly number[], runs = 7): Promise<PageLoad> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('No chromium: apt-get install chromium, or set CHROMIUM_PATH');
  await promisify(execFile)(process.execPath, ['lambda/local/build.mjs']);
  const harness = await startHarness({ env: { SYNC_MAX_COUNT: '100', CHUNK_SIZE: '100000', MAX_CONCURRENCY: '64' } });
  const server = await startDevServer(harness.runtime(), { port: 0, log: { info() {}, error() {} } });
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const batches: { count: number; batchId: string }[] = [];
    for (const count of counts) {
      const response = await fetch(`${server.url}/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ count, width: 8, concurrency: 64 }),
      });
      const { batchId } = (await response.json()) as { batchId: string };
      for (;;) {
        const status = (await (await fetch(`${server.url}/batches/${batchId}`)).json()) as { status: string };
        if (status.status === 'done') break;
        if (status.status !== 'accepted' && status.status !== 'running') throw new Error(`Batch ${status.status}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      batches.push({ count, batchId });
    }
    const times = new Map<number, number[]>(counts.map((count) => [count, []]));
    const htmlBytes = new Map<number, number>();
    for (let run = 0; run <= runs; run++) {
      for (const { count, batchId } of batches) {
        const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
        const response = await page.goto(`${server.url}/batches/${batchId}/view`, { waitUntil: 'load' });
        htmlBytes.set(count, (await response?.body())?.length ?? 0);
        // Navigation timing, in the page (this file's types are Node's, not the DOM's).
        const loadMs = (await page.evaluate(
          "(([n]) => n.loadEventEnd - n.startTime)(performance.getEntriesByType('navigation'))",
        )) as number;
        // The first round warms the server and the browser; it is not counted.
        if (run > 0) times.get(count)?.push(loadMs);
        await page.close();
      }
    }
    return {
      runs,
      sizes: counts.map((count) => ({
        count,
        loadMs: median(times.get(count) ?? []),
        htmlBytes: htmlBytes.get(count) ?? 0,
      })),
    };
  } finally {
    await browser.close();
    await server.close();
    await harness.close();
  }
}
