/**
 * `npm run bench`: this project against the floor of the network, on loopback.
 * The floor of a run is the slower of its two halves done alone at the same concurrency with a
 * minimal client: fetching the images (redirect and body) and storing objects of their size.
 * Ratios come from one run: the machine is noisy, so compare within a run, not across runs.
 */
import '../../lambda/local/quiet-node-warning.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { runBatch } from '../../lambda/batch.js';
import { loadConfig } from '../../lambda/config.js';
import { EMBEDDED_S3_CREDENTIALS } from '../../lambda/local/embedded-s3.js';
import { parseRequest } from '../../lambda/request.js';
import { createSourceAgent, imageUrl } from '../../lambda/source.js';
import { createS3Client } from '../../lambda/store.js';
import { fetchOnly, storeOnly } from './floor.js';

/** Starts one server process (see servers.ts) and reads the address it prints. */
async function startServer<T>(args: string[]): Promise<{ info: T; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn('node_modules/.bin/tsx', ['test/bench/servers.ts', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [line] = (await once(lines, 'line')) as [string];
  return {
    info: JSON.parse(line) as T,
    stop: async () => {
      child.stdin?.end();
      await once(child, 'exit');
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** Runs the batch `runs` times against fresh servers; median elapsedMs and the floor of the same runs. */
async function measure(scenario: {
  count: number;
  concurrency: number;
  latencyMs: number;
  runs: number;
  width: number;
}) {
  const picsum = await startServer<{ baseUrl: string; imageHost: string }>(['picsum', String(scenario.latencyMs)]);
  const s3server = await startServer<{ s3Endpoint: string; bucket: string }>(['s3']);
  const config = loadConfig({
    BUCKET_NAME: s3server.info.bucket,
    S3_ENDPOINT: s3server.info.s3Endpoint,
    PICSUM_BASE_URL: picsum.info.baseUrl,
    PICSUM_REDIRECT_HOSTS: picsum.info.imageHost,
  });
  const s3 = createS3Client(config, { credentials: EMBEDDED_S3_CREDENTIALS });
  const dispatcher = createSourceAgent(config);
  const request = parseRequest(
    { count: scenario.count, concurrency: scenario.concurrency, width: scenario.width },
    config,
  );
  const urls = Array.from(
    { length: scenario.count },
    (_, index) => imageUrl(config.picsumBaseUrl, request, index).href,
  );
  const deps = { s3, dispatcher };
  // Warm up twice: the offline server renders each image variant once, every connection opens,
  // and the JIT has seen the hot paths of both servers and of this process before anything is timed.
  for (let warmup = 0; warmup < 2; warmup++) {
    const warm = { ...request, count: Math.max(16, scenario.concurrency) };
    await runBatch(warm, { config, deps, deadlineAt: Date.now() + 60_000 });
  }

  const ours: number[] = [];
  const cpuMs: number[] = [];
  const fetches: number[] = [];
  const stores: number[] = [];
  let bytesPerImage = 0;
  for (let run = 0; run < scenario.runs; run++) {
    const cpuBefore = process.cpuUsage();
    const result = await runBatch(request, { config, deps, deadlineAt: Date.now() + 600_000 });
    const cpu = process.cpuUsage(cpuBefore);
    cpuMs.push((cpu.user + cpu.system) / 1000);
    if (result.failed > 0)
      throw new Error(`bench batch had ${result.failed} failures: ${JSON.stringify(result.failures[0])}`);
    ours.push(result.elapsedMs);
    bytesPerImage = Math.round(result.bytes / result.requested);
    fetches.push(await fetchOnly(urls, scenario.concurrency, dispatcher));
    stores.push(await storeOnly(s3, config.bucket, scenario.count, bytesPerImage, scenario.concurrency));
  }
  s3.destroy();
  await dispatcher.close();
  await picsum.stop();
  await s3server.stop();
  const fetchMs = median(fetches);
  const storeMs = median(stores);
  const cpuMsPerImage = median(cpuMs) / scenario.count;
  return {
    elapsedMs: median(ours),
    fetchMs,
    storeMs,
    floorMs: Math.max(fetchMs, storeMs),
    bytesPerImage,
    cpuMsPerImage,
  };
}

const fmt = (ms: number) => `${Math.round(ms)} ms`.padStart(9);

async function main() {
  console.log(
    `picsum-batch bench — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  console.log(
    'All on loopback: the offline picsum server (latency injected on each hop) and s3rver, each in its own process.\n',
  );

  const near = await measure({ count: 100, concurrency: 20, latencyMs: 100, runs: 3, width: 600 });
  const nearRatio = near.elapsedMs / near.floorMs;
  console.log('1. N=100, C=20, 100 ms per hop (median of 3)');
  console.log(
    `   ours ${fmt(near.elapsedMs)} | fetch alone ${fmt(near.fetchMs)} | store alone ${fmt(near.storeMs)} | floor ${fmt(near.floorMs)} | ${near.bytesPerImage} B/image | ${near.cpuMsPerImage.toFixed(2)} CPU ms/image`,
  );
  console.log(`   ours / floor = ${nearRatio.toFixed(2)} (target <= 1.30) ${nearRatio <= 1.3 ? 'MET' : 'MISSED'}\n`);

  const serial = await measure({ count: 24, concurrency: 1, latencyMs: 100, runs: 5, width: 600 });
  const parallel = await measure({ count: 24, concurrency: 24, latencyMs: 100, runs: 5, width: 600 });
  const speedup = serial.elapsedMs / parallel.elapsedMs;
  console.log("2. N=24, 100 ms per hop: the tutorial's comparison (median of 5)");
  for (const [label, m] of [
    ['concurrency 1 ', serial],
    ['concurrency 24', parallel],
  ] as const) {
    console.log(`   ${label} ${fmt(m.elapsedMs)} | fetch alone ${fmt(m.fetchMs)} | store alone ${fmt(m.storeMs)}`);
  }
  console.log(`   speed-up = ${speedup.toFixed(1)}x (target >= 15x) ${speedup >= 15 ? 'MET' : 'MISSED'}`);
}

await main();
