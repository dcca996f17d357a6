/**
 * One benchmark contender in a process of its own, so that its CPU time and peak RSS are its own:
 *   node .build/bench-contender.mjs '<ContenderSpec as JSON>'   (compiled by `node lambda/local/build.mjs --bench`)
 * Runs a warm-up batch of the full size, then `runs` timed batches; prints one JSON line (ContenderReport).
 * `cold`: no warm-up, the process's first batch is the one timed (what a scheduled Lambda or `npm start` runs).
 */

import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { runBatch } from '../../lambda/function/orchestration/batch.js';
import { createSourcePool, imageUrl } from '../../lambda/function/source/picsum.js';
import { createS3Clients } from '../../lambda/function/storage/s3-client.js';
import { BENCH_S3_CREDENTIALS } from './credentials.js';

export type ContenderSpec = {
  /** `ours-signed-put`: this project with image PUTs hand-signed instead of the SDK's (a diagnostic). */
  kind:
    | 'ours'
    | 'ours-no-catalog'
    | 'ours-signed-put'
    | 'naive'
    | 'fetch-floor'
    | 'store-floor'
    | 'bare-store-floor'
    | 'both-floor';
  /** This project's batches ask for N different photos (as many downloads as every other contender makes). */
  distinct?: boolean;
  count: number;
  concurrency: number;
  width: number;
  /** For store-floor and both-floor: the size of each object. */
  bytes?: number;
  runs: number;
  /** Time the process's first batch, with no warm-up. */
  cold?: boolean;
  picsum: { baseUrl: string; imageHost: string };
  s3: { endpoint: string; bucket: string };
};

/** Timings of the batches timed; `batches`: every batch the process ran, warm-up included. */
export type ContenderReport = {
  elapsedMs: number[];
  cpuMs: number[];
  maxRssKb: number;
  bytes: number;
  batches: number;
};

async function main(spec: ContenderSpec): Promise<ContenderReport> {
  const config = loadConfig({
    BUCKET_NAME: spec.s3.bucket,
    S3_ENDPOINT: spec.s3.endpoint,
    PICSUM_BASE_URL: spec.picsum.baseUrl,
    PICSUM_REDIRECT_HOSTS: spec.picsum.imageHost,
    MAX_COUNT: '100000',
    PICSUM_CATALOG: spec.kind === 'ours-no-catalog' ? 'off' : 'on',
  });
  const s3 = createS3Clients(config, { credentials: BENCH_S3_CREDENTIALS }).transfer;
  const source = createSourcePool(config);
  // Each contender loads only its own modules, before the clock (as a Lambda's init would): the
  // floors' minimal clients import undici, and must not load it for this project's cold batch.
  const floor = spec.kind.endsWith('-floor') ? await import('./floor.js') : undefined;
  const { naiveBatch } = spec.kind === 'naive' ? await import('./naive.js') : { naiveBatch: undefined };
  const signedPut =
    spec.kind === 'ours-signed-put' || spec.kind === 'bare-store-floor'
      ? (await import('./signed-put.js')).signedPutSender(s3, {
          endpoint: spec.s3.endpoint,
          region: config.region,
          credentials: BENCH_S3_CREDENTIALS,
          connections: config.maxConcurrency + 8,
        })
      : undefined;
  const dispatcher = floor ? source.dispatcher() : undefined;
  // This project starts as its functions do (handlers/): its HTTP client loaded at init.
  const request = parseRequest({ count: spec.count, concurrency: spec.concurrency, width: spec.width }, config);
  const ourRequest = { ...request, distinct: spec.distinct === true && spec.kind !== 'ours-no-catalog' };
  const urls = Array.from({ length: spec.count }, (_, index) => imageUrl(config.picsumBaseUrl, request, index).href);
  let bytes = 0;

  const loaded = <T>(part: T | undefined): T => {
    if (part === undefined) throw new Error(`${spec.kind}: its module was not loaded`);
    return part;
  };
  const once = async (count: number, tag: string): Promise<void> => {
    switch (spec.kind) {
      case 'ours':
      case 'ours-no-catalog':
      case 'ours-signed-put': {
        const sender = spec.kind === 'ours-signed-put' ? loaded(signedPut) : s3;
        const result = await runBatch(
          { ...ourRequest, count },
          { config, deps: { s3: sender, transfer: sender, source }, deadlineAt: Date.now() + 3_600_000 },
        );
        if (result.failed > 0)
          throw new Error(`ours: ${result.failed} failed, first: ${JSON.stringify(result.failures[0])}`);
        bytes = result.bytes;
        return;
      }
      case 'naive':
        ({ bytes } = await loaded(naiveBatch)({
          urls: urls.slice(0, count),
          concurrency: spec.concurrency,
          s3: { ...spec.s3, credentials: BENCH_S3_CREDENTIALS },
          prefix: `naive/${tag}/`,
        }));
        return;
      case 'fetch-floor':
        ({ bytes } = await loaded(floor).fetchOnly(urls.slice(0, count), spec.concurrency, loaded(dispatcher)));
        return;
      case 'store-floor':
        await loaded(floor).storeOnly(s3, config.bucket, count, spec.bytes ?? 0, spec.concurrency);
        return;
      case 'bare-store-floor':
        // The physical limit beside the SDK's floor: each PUT hand-signed and sent over undici.
        await loaded(floor).storeOnly(loaded(signedPut), config.bucket, count, spec.bytes ?? 0, spec.concurrency);
        return;
      case 'both-floor': {
        // Both halves at once with the minimal clients: what the two cores can do when the servers
        // and the client all compete for them, as a real pipeline's do.
        const [fetched] = await Promise.all([
          loaded(floor).fetchOnly(urls.slice(0, count), spec.concurrency, loaded(dispatcher)),
          loaded(floor).storeOnly(s3, config.bucket, count, spec.bytes ?? 0, spec.concurrency),
        ]);
        ({ bytes } = fetched);
        return;
      }
    }
  };

  // A warm-up as large as the timed batches. After a short one (max(16, C) items) the timed runs
  // still got faster one after the other (CPU per image 2.4, 1.6, 1.3 ms at N=1000: V8 was still
  // compiling), so their median measured the JIT's progress instead of the pipeline.
  if (!spec.cold) await once(spec.count, 'warmup');
  const elapsedMs: number[] = [];
  const cpuMs: number[] = [];
  for (let run = 0; run < spec.runs; run++) {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await once(spec.count, `run${run}`);
    elapsedMs.push(performance.now() - started);
    const cpu = process.cpuUsage(cpuBefore);
    cpuMs.push((cpu.user + cpu.system) / 1000);
  }
  s3.destroy();
  await source.close();
  return {
    elapsedMs,
    cpuMs,
    maxRssKb: process.resourceUsage().maxRSS,
    bytes,
    batches: spec.runs + (spec.cold ? 0 : 1),
  };
}

main(JSON.parse(process.argv[2] ?? '{}') as ContenderSpec).then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
