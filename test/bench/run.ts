/**
 * `npm run bench`: picsum-batch against the network's floor and its peers, all on loopback.
 *   npm run bench                 every scenario (about 30 minutes on 2 cores)
 *   npm run bench -- cold large   only the named scenarios: first, sweep, near, wide, large, cold,
 *                                 catalog, tutorial, memory, unsized, coldstart, cpu, page
 * picsum-batch asks for N different photos (`distinct`) wherever it is compared with contenders that
 * download N images; the catalog scenario alone runs plain random batches, where photos repeat.
 * Servers (offline picsum with latency per hop, the embedded S3) and every contender run in processes of
 * their own. Warm: the median of 3 batches after a warm-up batch, in one process. Cold: the median
 * of 3 fresh processes, each timing its first batch. Ratios compare numbers from the same run: the
 * machine is noisy, compare within a run, not across runs.
 * A full run writes docs/bench.json and the chart docs/bench.svg; a partial one only prints.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { EXIT_CODES } from '../../lambda/local/exit-codes.js';
import { lineChart } from './chart.js';
import { coldRequest } from './cold-request.js';
import { coldStart } from './coldstart.js';
import {
  type Contender,
  type Measured,
  type Mode,
  measureAt,
  measureWithNullS3,
  median,
  type Row,
  type Setup,
  withServers,
} from './measure.js';
import { startRss } from './memory.js';
import { pageLoad } from './page-load.js';

const only = new Set(process.argv.slice(2));
const wanted = (name: string) => only.size === 0 || only.has(name);
const results: Record<string, unknown> = {};
const verdicts: string[] = [];

const fmt = (value: number, digits = 0) => value.toFixed(digits);
function verdict(label: string, ok: boolean, detail: string) {
  const line = `${ok ? 'MET   ' : 'MISSED'} ${label}: ${detail}`;
  verdicts.push(line);
  console.log(`  ${line}`);
}

function table(title: string, measured: Measured[]) {
  console.log(`\n${title}`);
  console.log(
    '  contender                      C   elapsed   images/s   MB/s  CPU ms/img  peak RSS   x floor  req/img  dl/img',
  );
  for (const m of measured) {
    for (const row of m.rows) {
      console.log(
        `  ${row.contender.padEnd(28)} ${String(row.concurrency).padStart(3)} ${fmt(row.elapsedMs).padStart(7)} ms ${fmt(row.imagesPerSecond, 1).padStart(9)} ${fmt(row.megabytesPerSecond, 1).padStart(6)} ${fmt(row.cpuMsPerImage, 2).padStart(10)} ${fmt(row.peakRssMb).padStart(6)} MB   ${fmt(row.elapsedMs / m.floorMs, 2).padStart(5)}  ${fmt(row.requestsPerImage, 2).padStart(7)}  ${fmt(row.downloadsPerImage, 2).padStart(6)}`,
      );
    }
    console.log(
      `  ${m.mode} floor at C=${m.rows[0]?.concurrency}: ${fmt(m.floorMs)} ms = largest of latency bound ${fmt(m.latencyBoundMs)} ms, halves ${fmt(m.halvesMs)} ms (fetch ${fmt(m.fetchMs)}, store ${fmt(m.storeMs)}), both at once ${fmt(m.bothMs)} ms; bare-PUT store half ${fmt(m.bareStoreMs)} ms`,
    );
  }
}

const ours = (m: Measured) => m.rows.find((row) => row.contender === 'picsum-batch') as Row;
const peer = (m: Measured, prefix: string) => m.rows.find((row) => row.contender.startsWith(prefix));

/** This project's elapsed at most `limit` x the floor. */
const floorVerdict = (label: string, m: Measured, limit: number) =>
  verdict(label, ours(m).elapsedMs <= limit * m.floorMs, `${fmt(ours(m).elapsedMs / m.floorMs, 2)} x`);

/** This project's elapsed at most `limit` x that of the fastest of the peers that ran. */
function fastestPeerVerdict(label: string, m: Measured, prefixes: string[], limit: number) {
  const peers = prefixes.flatMap((prefix) => peer(m, prefix) ?? []);
  const fastest = peers.sort((a, b) => a.elapsedMs - b.elapsedMs)[0];
  if (!fastest) return;
  const ratio = ours(m).elapsedMs / fastest.elapsedMs;
  verdict(
    label,
    ratio <= limit,
    `${fmt(ratio, 2)} x ${fastest.contender} (${fmt(ours(m).elapsedMs)} vs ${fmt(fastest.elapsedMs)} ms)`,
  );
}

/** This project's elapsed at most `limit` x a peer's, when that peer ran (`1`: faster, short of a tie to the millisecond). */
function peerVerdict(label: string, m: Measured, prefix: string, limit: number) {
  const other = peer(m, prefix);
  if (!other) return;
  const ratio = ours(m).elapsedMs / other.elapsedMs;
  verdict(label, ratio <= limit, `${fmt(ratio, 2)} x (${fmt(ours(m).elapsedMs)} vs ${fmt(other.elapsedMs)} ms)`);
}

async function scenario(
  name: string,
  setup: Setup,
  concurrencies: number[],
  contenders: Contender[],
  mode: Mode = 'warm',
  options: { floors?: boolean } = {},
) {
  const measured: Measured[] = [];
  await withServers(setup, async (servers) => {
    for (const concurrency of concurrencies) {
      measured.push(await measureAt(servers, setup, concurrency, contenders, mode, options));
    }
  });
  results[name] = { setup, measured };
  return measured;
}

async function main() {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(`picsum-batch bench — ${machine}`);
  results.machine = machine;

  if (wanted('first')) {
    // The first issue's targets, with images as picsum serves them (600x600 JPEGs of about 65 KB).
    const near = { count: 100, latencyMs: 100, imageBytes: 0, width: 600, runs: 3 };
    const [m] = await scenario('first-near', near, [20], ['ours']);
    const few = { count: 24, latencyMs: 100, imageBytes: 0, width: 600, runs: 3 };
    const [serial, parallel] = await scenario('first-speedup', few, [1, 24], ['ours']);
    if (m && serial && parallel) {
      table('First targets: N=100, C=20 and N=24, C=1 vs 24; 100 ms per hop, 600x600 JPEGs', [m, serial, parallel]);
      floorVerdict('N=100, C=20 elapsed <= 1.30 x floor', m, 1.3);
      const speedup = ours(serial).elapsedMs / ours(parallel).elapsedMs;
      verdict('N=24: C=24 >= 15 x faster than C=1', speedup >= 15, `${fmt(speedup, 1)} x`);
    }
  }

  if (wanted('sweep')) {
    const setup = { count: 100, latencyMs: 50, imageBytes: 200_000, width: 64, runs: 3 };
    const concurrencies = [1, 2, 4, 8, 16, 32, 64];
    const measured = await scenario('sweep', setup, concurrencies, ['ours', 'naive', 'tutorial']);
    table('Sweep: N=100, 200 KB images, 50 ms per hop', measured);
    // The same batches cold: a fresh process each, its first batch (a scheduled Lambda, `npm start`).
    const cold = await scenario('sweep-cold', setup, concurrencies, ['ours'], 'cold', { floors: false });
    table('Sweep, cold (fresh process, first batch; against the warm floor above)', cold);
    const coldAt = (concurrency: number) => cold.find((m) => ours(m).concurrency === concurrency);
    const series = (label: string, color: string, pick: (m: Measured) => number | undefined, dashed = false) => ({
      name: label,
      color,
      dashed,
      points: measured.flatMap((m) => {
        const y = pick(m);
        return y === undefined ? [] : [{ x: ours(m).concurrency, y }];
      }),
    });
    const chartPath = only.size === 0 ? 'docs/bench.svg' : join(tmpdir(), 'picsum-bench.svg');
    mkdirSync(dirname(chartPath), { recursive: true });
    writeFileSync(
      chartPath,
      lineChart({
        title: '100 images of 200 KB from picsum to S3, 50 ms per hop',
        subtitle: `loopback, offline picsum server and the embedded S3; ${machine}`,
        xLabel: 'concurrency',
        yLabel: 'elapsed (median of 3; cold: 3 fresh processes)',
        series: [
          series('picsum-batch, warm', '#1f6feb', (m) => ours(m).elapsedMs),
          series('picsum-batch, cold', '#8250df', (m) => coldAt(ours(m).concurrency)?.rows[0]?.elapsedMs),
          series('floor', '#2da44e', (m) => m.floorMs, true),
          series('naive Node', '#cf222e', (m) => peer(m, 'naive')?.elapsedMs),
          series('tutorial (Python)', '#bf8700', (m) => peer(m, 'tutorial')?.elapsedMs),
        ],
      }),
    );
  }

  if (wanted('near')) {
    const setup = { count: 200, latencyMs: 50, imageBytes: 200_000, width: 64, runs: 3 };
    const [m] = await scenario('near', setup, [16], ['ours', 'naive', 'tutorial']);
    if (m) {
      table('Target 1a and 2: N=200, C=16, 200 KB, 50 ms per hop', [m]);
      floorVerdict('1a elapsed <= 1.20 x floor (N=200, C=16)', m, 1.2);
      for (const prefix of ['naive', 'tutorial']) peerVerdict(`2 faster than ${prefix}`, m, prefix, 1);
    }
  }

  if (wanted('wide')) {
    const setup = { count: 1000, latencyMs: 50, imageBytes: 40_000, width: 64, runs: 3 };
    // With a diagnostic beside it: the same pipeline with its image PUTs hand-signed, not the SDK's.
    const [m] = await scenario('wide', setup, [64], ['ours', 'ours-signed-put']);
    if (m) {
      // Reported, not a target: on this machine the servers and the function share two cores, so
      // CPU per image decides it; on Lambda the network bounds a batch (see the CPU column).
      table('1b (reported): N=1000, C=64, 40 KB, 50 ms per hop', [m]);
      console.log(
        `  ${fmt(ours(m).elapsedMs / m.floorMs, 2)} x the floor, ${fmt(ours(m).cpuMsPerImage, 2)} CPU ms per image`,
      );
      const signed = peer(m, 'picsum-batch, signed');
      if (signed) console.log(`  (diagnostic) PUTs hand-signed: ${fmt(signed.elapsedMs / m.floorMs, 2)} x the floor`);
    }
    // Diagnostic, not a target: the same batch with a null S3 that costs this machine no CPU.
    const nullS3 = await measureWithNullS3(setup, 64);
    results.wideNullS3 = { setup, measured: [nullS3] };
    table('Diagnostic for 1b: the same batch into a null S3 (stores nothing, costs no CPU); floor = fetch alone', [
      nullS3,
    ]);
    console.log(`  ${fmt((nullS3.rows[0]?.elapsedMs ?? 0) / nullS3.floorMs, 2)} x the fetch floor`);
  }

  if (wanted('large')) {
    const setup = { count: 60, latencyMs: 0, imageBytes: 4_000_000, width: 64, runs: 3 };
    const [m] = await scenario('large', setup, [12], ['ours', 'naive']);
    if (m) {
      table('Target 3: 60 images of 4 MB, C=12, no latency', [m]);
      floorVerdict('3 elapsed <= 1.25 x floor', m, 1.25);
      peerVerdict('3 elapsed <= 0.8 x naive', m, 'naive', 0.8);
    }
  }

  if (wanted('cold')) {
    // Cold: each contender (and each floor figure) a fresh process timing its first batch, medians of 3.
    const near = { count: 200, latencyMs: 50, imageBytes: 200_000, width: 64, runs: 3 };
    const [c1] = await scenario('cold-near', near, [16], ['ours', 'naive', 'tutorial', 'tutorial-boto3'], 'cold');
    if (c1) {
      table('Cold target 1: N=200, C=16, 200 KB, 50 ms per hop', [c1]);
      floorVerdict('cold 1 elapsed <= 1.15 x floor', c1, 1.15);
      fastestPeerVerdict(
        'cold 1 within 1.05 x the fastest peer',
        c1,
        ['naive', 'tutorial', 'Python threads + boto3'],
        1.05,
      );
    }
    const large = { count: 60, latencyMs: 0, imageBytes: 4_000_000, width: 64, runs: 3 };
    const [c2] = await scenario('cold-large', large, [12], ['ours', 'naive'], 'cold');
    if (c2) {
      table('Cold target 2: 60 images of 4 MB, C=12, no latency', [c2]);
      floorVerdict('cold 2 elapsed <= 1.25 x floor', c2, 1.25);
      peerVerdict('cold 2 faster than naive', c2, 'naive', 1);
    }
    const wide = { count: 24, latencyMs: 100, imageBytes: 0, width: 600, runs: 3 };
    const [c3] = await scenario('cold-all-at-once', wide, [24], ['ours'], 'cold');
    if (c3) {
      table('Cold target 3: N=24 at C=24, 100 ms per hop, 600x600 JPEGs (floor: fetch half + store half)', [c3]);
      floorVerdict('cold 3 elapsed <= 1.15 x floor', c3, 1.15);
    }
  }

  if (wanted('catalog')) {
    // A random batch five times the catalog: with it, each photo downloaded once and the rest copied
    // in S3; with PICSUM_CATALOG=off (the code before it), picsum's random route for every image.
    const setup = { count: 5000, latencyMs: 20, imageBytes: 0, width: 64, runs: 3, photos: 'random' as const };
    const [m] = await scenario('catalog', setup, [32], ['ours', 'ours-no-catalog'], 'cold', { floors: false });
    const off = m && peer(m, 'picsum-batch, catalog off');
    if (m && off) {
      table('Catalog: a random batch of 5000 images (the catalog has about 1000 photos), C=32, 20 ms per hop, cold', [
        m,
      ]);
      const downloads = ours(m).downloadsPerImage * setup.count;
      verdict('catalog: at most ~1000 downloads for 5000 images', downloads <= 1100, `${fmt(downloads)} downloads`);
      const ratio = ours(m).elapsedMs / off.elapsedMs;
      verdict(
        'catalog: faster than without it',
        ratio < 1,
        `${fmt(ratio, 2)} x (${fmt(ours(m).elapsedMs)} vs ${fmt(off.elapsedMs)} ms)`,
      );
    }
  }

  if (wanted('tutorial')) {
    // The tutorial's own comparison, cold as it ran it: 15 images one after another, then all at once.
    const setup = { count: 15, latencyMs: 100, imageBytes: 0, width: 600, runs: 3 };
    const measured = await scenario('tutorial-15', setup, [1, 15], ['ours', 'tutorial'], 'cold');
    table("The tutorial's comparison, cold: 15 images at C=1 and C=15, 100 ms per hop", measured);
  }

  if (wanted('memory')) {
    // With PICSUM_CATALOG=off (set in startRss): every image downloaded and PUT. The target is a
    // plateau: a long run holds no more than a shorter one, with V8's heap defaults kept.
    console.log(
      '\nTarget 4: peak RSS of `npm start` (S3_ENDPOINT set, catalog off), C=32, medians of 3, sizes alternating',
    );
    // Rounds alternate the sizes, so that a busier minute of the machine weighs on all of them alike.
    const runs = { large300: [] as number[], small3000: [] as number[], small10000: [] as number[] };
    for (let round = 0; round < 3; round++) {
      runs.small3000.push(await startRss(3000, 32, 50_000));
      runs.small10000.push(await startRss(10_000, 32, 50_000));
      runs.large300.push(await startRss(300, 32, 1_000_000));
    }
    const [large300, small3000, small10000] = [median(runs.large300), median(runs.small3000), median(runs.small10000)];
    results.memory = { large300, small3000, small10000, runs };
    const all = (values: number[]) => values.map((mb) => fmt(mb)).join(', ');
    console.log(`  300 x 1 MB: ${fmt(large300)} MB (${all(runs.large300)})`);
    console.log(
      `  3000 x 50 KB: ${fmt(small3000)} MB (${all(runs.small3000)}); 10000 x 50 KB: ${fmt(small10000)} MB (${all(runs.small10000)})`,
    );
    verdict('4 peak RSS < 200 MB at N=300 of 1 MB', large300 < 200, `${fmt(large300)} MB`);
    verdict(
      '4 N=10000 within 1.15 x N=3000 (50 KB)',
      small10000 <= 1.15 * small3000,
      `${fmt(small10000 / small3000, 2)} x`,
    );
    verdict('4 N=10000 under 300 MB', small10000 < 300, `${fmt(small10000)} MB`);
  }

  if (wanted('unsized')) {
    // A source that sends no Content-Length: such bodies are held whole, up to MAX_UNSIZED_IMAGE_BYTES.
    console.log('\nMemory with bodies of unknown length: 64 images, C=64, peak RSS of `npm start`, medians of 3');
    const sizes = [
      ['8 MB with Content-Length (streamed)', 8_000_000, false, EXIT_CODES.stored],
      ['8 MB chunked (over the 2 MiB cap: refused as too_large)', 8_000_000, true, EXIT_CODES.noneStored],
      ['1.5 MB chunked (held whole, stored)', 1_500_000, true, EXIT_CODES.stored],
    ] as const;
    const peaks: Record<string, number> = {};
    for (const [label, bytes, unsized, expectedExit] of sizes) {
      const runs = [];
      for (let round = 0; round < 3; round++) runs.push(await startRss(64, 64, bytes, { unsized, expectedExit }));
      peaks[label] = median(runs);
      console.log(`  ${label}: ${fmt(median(runs))} MB (${runs.map((mb) => fmt(mb)).join(', ')})`);
    }
    results.unsized = peaks;
    // The documented bound: bodies without a length add at most C x MAX_UNSIZED_IMAGE_BYTES (2 MiB).
    const sized = peaks[sizes[0][0]] ?? 0;
    const bound = sized + (64 * 2 * 2 ** 20) / 1e6;
    for (const [label] of sizes.slice(1)) {
      const peak = peaks[label] ?? 0;
      verdict(`unsized: ${label} <= sized + 64 x 2 MiB`, peak <= bound, `${fmt(peak)} vs ${fmt(bound)} MB`);
    }
  }

  if (wanted('coldstart')) {
    console.log('\nTarget 5: one cold API request, against a minimal handler (undici GET + PutObject), medians of 5');
    const request = await coldRequest();
    results.coldRequest = request;
    console.log(
      `  POST /batches of 15 x 600x400, 50 ms per hop, from process start to the answer: ${fmt(request.oursMs)} ms (minimal ${fmt(request.minimalMs)} ms)`,
    );
    verdict(
      '5 cold request <= 1.15 x minimal handler',
      request.oursMs <= 1.15 * request.minimalMs,
      `${fmt(request.oursMs / request.minimalMs, 2)} x`,
    );
    // Reported, not targets: the bundle's size and its import alone.
    const cold = await coldStart();
    results.coldStart = cold;
    console.log(
      `  (reported) bundle ${fmt(cold.bundleBytes / 1e6, 2)} MB in all, ${fmt(cold.entryBytes / 1e6, 2)} MB read at every cold start (S3-client-only reference ${fmt(cold.referenceBytes / 1e6, 2)} MB); import ${fmt(cold.importMs)} ms (reference ${fmt(cold.referenceImportMs)} ms) on Node ${cold.node}, medians of 15 alternating`,
    );
  }

  if (wanted('page')) {
    console.log("\nTarget 7: a batch's view in Chromium, 5,000 images against 100, medians of 7 loads");
    const loads = await pageLoad([100, 5000]);
    results.pageLoad = loads;
    for (const size of loads.sizes) {
      console.log(
        `  ${size.count} images: load event at ${fmt(size.loadMs)} ms, ${fmt(size.htmlBytes / 1e3)} kB of HTML`,
      );
    }
    const [small, large] = loads.sizes;
    if (small && large) {
      verdict(
        '7 view of 5,000 images <= 1.5 x view of 100',
        large.loadMs <= 1.5 * small.loadMs,
        `${fmt(large.loadMs / small.loadMs, 2)} x (${fmt(large.loadMs)} vs ${fmt(small.loadMs)} ms)`,
      );
    }
  }

  if (wanted('cpu')) {
    const setup = { count: 1000, latencyMs: 0, imageBytes: 40_000, width: 64, runs: 3 };
    const [m] = await scenario('cpu', setup, [64], ['ours']);
    if (m) table('Target 6: CPU per image, C=64, 40 KB, no latency', [m]);
  }

  console.log(`\nVerdicts\n${verdicts.map((line) => `  ${line}`).join('\n')}`);
  results.verdicts = verdicts;
  results.commit = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
  // A full run replaces the committed record; a partial one only prints.
  if (only.size === 0) {
    mkdirSync('docs', { recursive: true });
    writeFileSync('docs/bench.json', `${JSON.stringify(results, null, 2)}\n`);
  }
}

await main();
