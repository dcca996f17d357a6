import type { ContenderReport, ContenderSpec } from './contender.js';
import { BENCH_S3_CREDENTIALS } from './credentials.js';
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
  /**
   * picsum-batch's batches: `distinct` (the default) asks for N different photos, so that it
   * downloads N images as every other contender and the floors do; `random` is a plain random
   * batch, where photos repeat and each is downloaded once.
   */
  photos?: 'distinct' | 'random';
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
  /** Requests the picsum server had per image stored (both hops; the catalog's pages included). */
  requestsPerImage: number;
  /** Image downloads (the CDN hop) per image stored. */
  downloadsPerImage: number;
};

export type Measured = {
  rows: Row[];
  mode: Mode;
  floorMs: number;
  /** The floor's figures: ceil(N / C) x two hops of latency; the halves alone; both halves at once. */
  latencyBoundMs: number;
  halvesMs: number;
  bothMs: number;
  fetchMs: number;
  storeMs: number;
  /** The store half with bare PUTs (hand-signed, over undici): reported beside the floor. */
  bareStoreMs: number;
};

export type Contender = 'ours' | 'ours-no-catalog' | 'ours-signed-put' | 'naive' | 'tutorial' | 'tutorial-boto3';

/** What the picsum server was asked since the last look. */
type SourceStats = { requests: number; images: number; catalog: number };

type Servers = {
  picsum: { baseUrl: string; imageHost: string };
  s3: { endpoint: string; bucket: string };
  stats(): Promise<SourceStats>;
};

/**
 * Fresh servers for one scenario (picsum with the latency and image size, the embedded S3), each its own
 * process. `s3: 'null-s3'` puts a server that stores nothing in the embedded S3's place (a diagnostic).
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
  // Every photo drawn before any contender asks: whichever photos a contender gets, the server's
  // work per image is the same (and picsum's CDN does not draw pictures either).
  await picsum.ask(`prerender ${setup.width}`);
  try {
    return await body({
      picsum: picsum.info,
      s3: { endpoint: s3.info.s3Endpoint, bucket: s3.info.bucket },
      stats: () => picsum.ask<SourceStats>('stats'),
    });
  } finally {
    await picsum.stop();
    await s3.stop();
  }
}

/** What every contender of a scenario is told: its size, concurrency, photos and servers. */
function specBase(servers: Servers, setup: Setup, concurrency: number) {
  const { stats: _stats, ...addresses } = servers;
  return {
    count: setup.count,
    concurrency,
    width: setup.width,
    runs: setup.runs,
    distinct: setup.photos !== 'random',
    ...addresses,
  };
}

function row(
  contender: string,
  concurrency: number,
  setup: Setup,
  report: ContenderReport,
  source: SourceStats = { requests: 0, images: 0, catalog: 0 },
): Row {
  const elapsedMs = median(report.elapsedMs);
  // Every batch a contender ran, warm-up included: the server counted them all.
  const images = setup.count * report.batches;
  return {
    contender,
    concurrency,
    elapsedMs,
    imagesPerSecond: setup.count / (elapsedMs / 1000),
    megabytesPerSecond: report.bytes / 1e6 / (elapsedMs / 1000),
    cpuMsPerImage: median(report.cpuMs) / setup.count,
    peakRssMb: report.maxRssKb / 1024,
    requestsPerImage: source.requests / images,
    downloadsPerImage: source.images / images,
  };
}

async function node(spec: ContenderSpec): Promise<ContenderReport> {
  return runJson<ContenderReport>(process.execPath, ['.build/bench-contender.mjs', JSON.stringify(spec)]);
}

/** Warm: one process per contender, a warm-up batch, then `runs` timed. Cold: `runs` fresh processes, each timing its first batch. */
export type Mode = 'warm' | 'cold';

/** One report from several cold processes: their timings side by side, the highest peak RSS. */
function merged(reports: ContenderReport[]): ContenderReport {
  return {
    elapsedMs: reports.flatMap((report) => report.elapsedMs),
    cpuMs: reports.flatMap((report) => report.cpuMs),
    maxRssKb: Math.max(...reports.map((report) => report.maxRssKb)),
    bytes: reports.at(-1)?.bytes ?? 0,
    batches: reports.reduce((sum, report) => sum + report.batches, 0),
  };
}

/**
 * The floor: the largest of the latency bound (each item's two hops, ceil(N / C) items after one
 * another), the halves alone (the slower one; their sum when N <= C, where nothing overlaps), and
 * both halves at once with minimal clients (on two cores shared with the servers, a perfect
 * pipeline pays for the CPU they take from each other too).
 */
export function floorOf(
  setup: Setup,
  concurrency: number,
  measured: { fetchMs: number; storeMs: number; bothMs: number },
): { floorMs: number; latencyBoundMs: number; halvesMs: number } {
  const latencyBoundMs = Math.ceil(setup.count / concurrency) * 2 * setup.latencyMs;
  const halvesMs =
    setup.count <= concurrency ? measured.fetchMs + measured.storeMs : Math.max(measured.fetchMs, measured.storeMs);
  return { floorMs: Math.max(latencyBoundMs, halvesMs, measured.bothMs), latencyBoundMs, halvesMs };
}

/**
 * Measures the contenders at one concurrency against the same servers, and the floor's three
 * figures: each half alone (fetch only; store only, objects of the same size) and both at once.
 * Cold, the processes go round by round (every contender once, then again), so a busier moment
 * of the machine weighs on all of them alike.
 */
export async function measureAt(
  servers: Servers,
  setup: Setup,
  concurrency: number,
  contenders: Contender[],
  mode: Mode = 'warm',
  options: { floors?: boolean } = {},
): Promise<Measured> {
  const { stats } = servers;
  const base = specBase(servers, setup, concurrency);
  const probe =
    setup.imageBytes || options.floors === false ? undefined : await node({ ...base, runs: 1, kind: 'fetch-floor' });
  // Objects of the images' own size: the padded size, or what a fetch read.
  const bytes = setup.imageBytes || Math.round((probe?.bytes ?? 0) / setup.count);
  const floors =
    options.floors === false ? [] : (['fetch-floor', 'store-floor', 'bare-store-floor', 'both-floor'] as const);
  const kinds = [...floors, ...contenders];
  const reports = new Map<string, ContenderReport[]>();
  const asked = new Map<string, SourceStats>();
  const count = (kind: string, seen: SourceStats) => {
    const sum = asked.get(kind) ?? { requests: 0, images: 0, catalog: 0 };
    asked.set(kind, {
      requests: sum.requests + seen.requests,
      images: sum.images + seen.images,
      catalog: sum.catalog + seen.catalog,
    });
  };
  // Cold contenders, warm servers: picsum and S3 are always warm, and the first process to meet
  // freshly started servers paid for their JIT (2x its elapsed time in every trial).
  if (mode === 'cold') await node({ ...base, kind: 'both-floor', bytes, runs: 1, cold: true });
  await stats();
  const rounds = mode === 'cold' ? setup.runs : 1;
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) {
      const spec = { ...base, kind, bytes, ...(mode === 'cold' ? { runs: 1, cold: true } : {}) };
      const report =
        kind === 'tutorial' || kind === 'tutorial-boto3'
          ? await tutorial(servers, setup, concurrency, mode, kind)
          : await node(spec as ContenderSpec);
      count(kind, await stats());
      if (report) reports.set(kind, [...(reports.get(kind) ?? []), report]);
    }
  }
  const medianOf = (kind: string) => median(merged(reports.get(kind) ?? []).elapsedMs);
  const rows: Row[] = [];
  for (const contender of contenders) {
    const runs = reports.get(contender);
    if (runs) rows.push(row(LABELS[contender], concurrency, setup, merged(runs), asked.get(contender)));
  }
  const fetchMs = medianOf('fetch-floor');
  const storeMs = medianOf('store-floor');
  const bothMs = medianOf('both-floor');
  const bareStoreMs = medianOf('bare-store-floor');
  return {
    rows,
    fetchMs,
    storeMs,
    bareStoreMs,
    bothMs,
    mode,
    ...floorOf(setup, concurrency, { fetchMs, storeMs, bothMs }),
  };
}

/**
 * This project against the fetch floor with a null S3 in the embedded S3's place: how close the pipeline
 * comes to the network's floor when storing takes no CPU from this machine (the S3 server spends about
 * 1.4 ms of CPU per PUT, on the same two cores as the contender and the picsum server).
 */
export async function measureWithNullS3(setup: Setup, concurrency: number): Promise<Measured> {
  return withServers(
    setup,
    async (servers) => {
      const base = specBase(servers, setup, concurrency);
      const fetch = await node({ ...base, kind: 'fetch-floor' });
      const ours = row('picsum-batch, null S3', concurrency, setup, await node({ ...base, kind: 'ours' }));
      const fetchMs = median(fetch.elapsedMs);
      const figures = { fetchMs, storeMs: 0, bareStoreMs: 0, bothMs: 0 };
      return { rows: [ours], mode: 'warm' as const, ...figures, ...floorOf(setup, concurrency, figures) };
    },
    { s3: 'null-s3' },
  );
}

const LABELS = {
  ours: 'picsum-batch',
  'ours-no-catalog': 'picsum-batch, catalog off',
  'ours-signed-put': 'picsum-batch, signed PUTs',
  naive: 'naive (fetch + PutObject)',
  tutorial: 'tutorial (Python threads)',
  'tutorial-boto3': 'Python threads + boto3',
} as const;

/** Whether each Python contender can run here: unknown until its first try. */
const python: Partial<Record<'tutorial' | 'tutorial-boto3', boolean>> = {};

/**
 * The tutorial's ThreadPoolExecutor, where python3 is present: PUTs with urllib, or through boto3
 * (Debian's python3-boto3, so Debian's own python3).
 */
async function tutorial(
  servers: Servers,
  setup: Setup,
  concurrency: number,
  mode: Mode,
  kind: 'tutorial' | 'tutorial-boto3',
): Promise<ContenderReport | undefined> {
  if (python[kind] === false) return undefined;
  const urls = Array.from(
    { length: setup.count },
    (_, i) => `${servers.picsum.baseUrl}/seed/bench-${i}/${setup.width}/${setup.width}`,
  );
  try {
    const store =
      kind === 'tutorial'
        ? { putBase: `${servers.s3.endpoint}/${servers.s3.bucket}/tutorial/` }
        : {
            s3: {
              endpoint: servers.s3.endpoint,
              bucket: servers.s3.bucket,
              prefix: 'tutorial-boto3/',
              credentials: BENCH_S3_CREDENTIALS,
            },
          };
    const report = await runJson<ContenderReport>(kind === 'tutorial' ? 'python3' : '/usr/bin/python3', [
      'test/bench/tutorial.py',
      JSON.stringify({ urls, concurrency, runs: mode === 'cold' ? 1 : setup.runs, cold: mode === 'cold', ...store }),
    ]);
    python[kind] = true;
    return { ...report, batches: mode === 'cold' ? 1 : setup.runs + 1 };
  } catch (error) {
    if (python[kind] === undefined) {
      python[kind] = false;
      process.stderr.write(`(no ${LABELS[kind]} contender: ${(error as Error).message})\n`);
      return undefined;
    }
    throw error;
  }
}
