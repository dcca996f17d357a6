import type { ContenderReport, ContenderSpec } from './contender.js';
import { runJson, startServer } from './processes.js';

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export type Setup = {
  count: number;
  latencyMs: number;
  imageBytes: number;
  width: number;
  runs: number;
  /** Images sent without Content-Length (chunked), as a misbehaving source might. */
  unsized?: boolean;
};

/** One contender's medians, per image where it says so. */
export type Row = {
  contender: string;
  concurrency: number;
  elapsedMs: number;
  imagesPerSecond: number;
  megabytesPerSecond: number;
  cpuMsPerImage: number;
  peakRssMb: number;
};

export type Measured = { rows: Row[]; floorMs: number; fetchMs: number; storeMs: number };

type Servers = { picsum: { baseUrl: string; imageHost: string }; s3: { endpoint: string; bucket: string } };

/**
 * Fresh servers for one scenario (picsum with the latency and image size, s3rver), each its own
 * process. `s3: 'null-s3'` puts a server that stores nothing in s3rver's place (a diagnostic).
 */
export async function withServers<T>(
  setup: Setup,
  body: (servers: Servers) => Promise<T>,
  options: { s3?: 's3' | 'null-s3' } = {},
): Promise<T> {
  const picsum = await startServer<Servers['picsum']>([
    'picsum',
    String(setup.latencyMs),
    String(setup.imageBytes),
    ...(setup.unsized ? ['unsized'] : []),
  ]);
  const s3 = await startServer<{ s3Endpoint: string; bucket: string }>([options.s3 ?? 's3']);
  try {
    return await body({ picsum: picsum.info, s3: { endpoint: s3.info.s3Endpoint, bucket: s3.info.bucket } });
  } finally {
    await picsum.stop();
    await s3.stop();
  }
}

function row(contender: string, concurrency: number, setup: Setup, report: ContenderReport): Row {
  const elapsedMs = median(report.elapsedMs);
  return {
    contender,
    concurrency,
    elapsedMs,
    imagesPerSecond: setup.count / (elapsedMs / 1000),
    megabytesPerSecond: report.bytes / 1e6 / (elapsedMs / 1000),
    cpuMsPerImage: median(report.cpuMs) / setup.count,
    peakRssMb: report.maxRssKb / 1024,
  };
}

async function node(spec: ContenderSpec): Promise<ContenderReport> {
  return runJson<ContenderReport>(process.execPath, [
    '--import',
    'tsx',
    'test/bench/contender.ts',
    JSON.stringify(spec),
  ]);
}

/**
 * Measures the contenders at one concurrency against the same servers, and the floor: the slower
 * of the two halves done alone at that concurrency (fetch only; store only, objects of the same size).
 */
export async function measureAt(
  servers: Servers,
  setup: Setup,
  concurrency: number,
  contenders: ('ours' | 'ours-signed-put' | 'naive' | 'tutorial')[],
): Promise<Measured> {
  const base = { count: setup.count, concurrency, width: setup.width, runs: setup.runs, ...servers };
  const fetch = await node({ ...base, kind: 'fetch-floor' });
  // Objects of the images' own size: the padded size, or what the fetch floor read.
  const store = await node({
    ...base,
    kind: 'store-floor',
    bytes: setup.imageBytes || Math.round(fetch.bytes / setup.count),
  });
  const rows: Row[] = [];
  for (const contender of contenders) {
    if (contender === 'tutorial') {
      const report = await tutorial(servers, setup, concurrency);
      if (report) rows.push(row('tutorial (Python threads)', concurrency, setup, report));
      continue;
    }
    rows.push(row(LABELS[contender], concurrency, setup, await node({ ...base, kind: contender })));
  }
  const fetchMs = median(fetch.elapsedMs);
  const storeMs = median(store.elapsedMs);
  return { rows, fetchMs, storeMs, floorMs: Math.max(fetchMs, storeMs) };
}

/**
 * This project against the fetch floor with a null S3 in s3rver's place: how close the pipeline
 * comes to the network's floor when storing takes no CPU from this machine (s3rver spends about
 * 1.4 ms of CPU per PUT, on the same two cores as the contender and the picsum server).
 */
export async function measureWithNullS3(setup: Setup, concurrency: number): Promise<Measured> {
  return withServers(
    setup,
    async (servers) => {
      const base = { count: setup.count, concurrency, width: setup.width, runs: setup.runs, ...servers };
      const fetch = await node({ ...base, kind: 'fetch-floor' });
      const ours = row('picsum-batch, null S3', concurrency, setup, await node({ ...base, kind: 'ours' }));
      const fetchMs = median(fetch.elapsedMs);
      return { rows: [ours], fetchMs, storeMs: 0, floorMs: fetchMs };
    },
    { s3: 'null-s3' },
  );
}

const LABELS = {
  ours: 'picsum-batch',
  'ours-signed-put': 'picsum-batch, signed PUTs',
  naive: 'naive (fetch + PutObject)',
} as const;

let python: boolean | undefined;

/** The tutorial's ThreadPoolExecutor, where python3 is present. */
async function tutorial(servers: Servers, setup: Setup, concurrency: number): Promise<ContenderReport | undefined> {
  if (python === false) return undefined;
  const urls = Array.from(
    { length: setup.count },
    (_, i) => `${servers.picsum.baseUrl}/seed/bench-${i}/${setup.width}/${setup.width}`,
  );
  try {
    const report = await runJson<ContenderReport>('python3', [
      'test/bench/tutorial.py',
      JSON.stringify({
        urls,
        concurrency,
        runs: setup.runs,
        putBase: `${servers.s3.endpoint}/${servers.s3.bucket}/tutorial/`,
      }),
    ]);
    python = true;
    return report;
  } catch (error) {
    if (python === undefined) {
      python = false;
      process.stderr.write(`(no tutorial contender: ${(error as Error).message})\n`);
      return undefined;
    }
    throw error;
  }
}
