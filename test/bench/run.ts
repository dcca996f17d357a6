/**
 * `npm run bench`: picsum-batch against the network's floor and its peers, all on loopback.
 *   npm run bench                 every scenario (about 10 minutes on 2 cores)
 *   npm run bench -- sweep large  only the named scenarios
 * Servers (offline picsum with latency per hop, s3rver) and every contender run in processes of
 * their own. Elapsed is the median of 3 runs after a warm-up. Ratios compare numbers from the same
 * run: the machine is noisy, compare within a run, not across runs.
 * A full run writes docs/bench.json and the chart docs/bench.svg; a partial one only prints.
 */
import '../../lambda/local/quiet-node-warning.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { lineChart } from './chart.js';
import { coldStart } from './coldstart.js';
import { type Measured, measureAt, measureWithNullS3, median, type Row, type Setup, withServers } from './measure.js';
import { startRss } from './memory.js';

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
    '  contender                      C   elapsed   images/s   MB/s  CPU ms/img  peak RSS   floor (fetch | store)',
  );
  for (const m of measured) {
    for (const row of m.rows) {
      console.log(
        `  ${row.contender.padEnd(28)} ${String(row.concurrency).padStart(3)} ${fmt(row.elapsedMs).padStart(7)} ms ${fmt(row.imagesPerSecond, 1).padStart(9)} ${fmt(row.megabytesPerSecond, 1).padStart(6)} ${fmt(row.cpuMsPerImage, 2).padStart(10)} ${fmt(row.peakRssMb).padStart(6)} MB   ${fmt(m.floorMs)} ms (${fmt(m.fetchMs)} | ${fmt(m.storeMs)})`,
      );
    }
  }
}

const ours = (m: Measured) => m.rows.find((row) => row.contender === 'picsum-batch') as Row;
const peer = (m: Measured, prefix: string) => m.rows.find((row) => row.contender.startsWith(prefix));

async function scenario(
  name: string,
  setup: Setup,
  concurrencies: number[],
  contenders: ('ours' | 'ours-signed-put' | 'naive' | 'tutorial')[],
) {
  const measured: Measured[] = [];
  await withServers(setup, async (servers) => {
    for (const concurrency of concurrencies) measured.push(await measureAt(servers, setup, concurrency, contenders));
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
      verdict(
        'N=100, C=20 elapsed <= 1.30 x floor',
        ours(m).elapsedMs <= 1.3 * m.floorMs,
        `${fmt(ours(m).elapsedMs / m.floorMs, 2)} x`,
      );
      const speedup = ours(serial).elapsedMs / ours(parallel).elapsedMs;
      verdict('N=24: C=24 >= 15 x faster than C=1', speedup >= 15, `${fmt(speedup, 1)} x`);
    }
  }

  if (wanted('sweep')) {
    const setup = { count: 100, latencyMs: 50, imageBytes: 200_000, width: 64, runs: 3 };
    const measured = await scenario('sweep', setup, [1, 2, 4, 8, 16, 32, 64], ['ours', 'naive', 'tutorial']);
    table('Sweep: N=100, 200 KB images, 50 ms per hop', measured);
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
        subtitle: `loopback, offline picsum server and s3rver; ${machine}`,
        xLabel: 'concurrency',
        yLabel: 'elapsed (median of 3)',
        series: [
          series('picsum-batch', '#1f6feb', (m) => ours(m).elapsedMs),
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
      verdict(
        '1a elapsed <= 1.20 x floor (N=200, C=16)',
        ours(m).elapsedMs <= 1.2 * m.floorMs,
        `${fmt(ours(m).elapsedMs / m.floorMs, 2)} x`,
      );
      for (const prefix of ['naive', 'tutorial']) {
        const other = peer(m, prefix);
        if (other)
          verdict(
            `2 faster than ${prefix}`,
            ours(m).elapsedMs < other.elapsedMs,
            `${fmt(ours(m).elapsedMs)} vs ${fmt(other.elapsedMs)} ms`,
          );
      }
    }
  }

  if (wanted('wide')) {
    const setup = { count: 1000, latencyMs: 50, imageBytes: 40_000, width: 64, runs: 3 };
    // With a diagnostic beside it: the same pipeline with its image PUTs hand-signed, not the SDK's.
    const [m] = await scenario('wide', setup, [64], ['ours', 'ours-signed-put']);
    if (m) {
      table('Target 1b: N=1000, C=64, 40 KB, 50 ms per hop', [m]);
      verdict(
        '1b elapsed <= 1.20 x floor (N=1000, C=64)',
        ours(m).elapsedMs <= 1.2 * m.floorMs,
        `${fmt(ours(m).elapsedMs / m.floorMs, 2)} x`,
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
      verdict(
        '3 elapsed <= 1.25 x floor',
        ours(m).elapsedMs <= 1.25 * m.floorMs,
        `${fmt(ours(m).elapsedMs / m.floorMs, 2)} x`,
      );
      const naive = peer(m, 'naive');
      if (naive)
        verdict(
          '3 elapsed <= 0.8 x naive',
          ours(m).elapsedMs <= 0.8 * naive.elapsedMs,
          `${fmt(ours(m).elapsedMs / naive.elapsedMs, 2)} x`,
        );
    }
  }

  if (wanted('memory')) {
    console.log('\nTarget 4: peak RSS of `npm start` (S3_ENDPOINT set), 1 MB images, C=32, medians of 3');
    // Rounds alternate the sizes, so that a busier minute of the machine weighs on all three alike.
    const samples: Record<100 | 300 | 1000, number[]> = { 100: [], 300: [], 1000: [] };
    for (let round = 0; round < 3; round++) {
      for (const count of [100, 1000, 300] as const) samples[count].push(await startRss(count, 32, 1_000_000));
    }
    const [at100, at300, at1000] = [median(samples[100]), median(samples[300]), median(samples[1000])];
    results.memory = { at100, at300, at1000, samples };
    const all = (count: 100 | 300 | 1000) => samples[count].map((mb) => fmt(mb)).join(', ');
    console.log(
      `  N=100 ${fmt(at100)} MB (${all(100)}), N=300 ${fmt(at300)} MB (${all(300)}), N=1000 ${fmt(at1000)} MB (${all(1000)})`,
    );
    verdict('4 peak RSS <= 200 MB at N=300', at300 <= 200, `${fmt(at300)} MB`);
    verdict('4 N=1000 within 15% of N=100', at1000 <= at100 * 1.15, `+${fmt((at1000 / at100 - 1) * 100)}%`);
  }

  if (wanted('unsized')) {
    // A source that sends no Content-Length: such bodies are held whole, up to MAX_UNSIZED_IMAGE_BYTES.
    console.log('\nMemory with bodies of unknown length: 64 images, C=64, peak RSS of `npm start`, medians of 3');
    const sizes = [
      ['8 MB with Content-Length (streamed)', 8_000_000, false],
      ['8 MB chunked (over the 2 MiB cap: refused as too_large)', 8_000_000, true],
      ['1.5 MB chunked (held whole, stored)', 1_500_000, true],
    ] as const;
    const peaks: Record<string, number> = {};
    for (const [label, bytes, unsized] of sizes) {
      const runs = [];
      for (let round = 0; round < 3; round++) runs.push(await startRss(64, 64, bytes, { unsized }));
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
    console.log('\nTarget 5: the bundle cdk synth writes, against a reference bundle of @aws-sdk/client-s3 alone');
    const cold = await coldStart();
    results.coldStart = cold;
    console.log(
      `  bundle ${fmt(cold.bundleBytes / 1e6, 2)} MB in all, ${fmt(cold.entryBytes / 1e6, 2)} MB read at every cold start (reference ${fmt(cold.referenceBytes / 1e6, 2)} MB); import ${fmt(cold.importMs)} ms (reference ${fmt(cold.referenceImportMs)} ms) on Node ${cold.node}, medians of 15 alternating`,
    );
    verdict('5 bundle <= 1.5 MB', cold.bundleBytes <= 1.5e6, `${fmt(cold.bundleBytes / 1e6, 2)} MB`);
    verdict(
      '5 import <= 1.5 x reference',
      cold.importMs <= 1.5 * cold.referenceImportMs,
      `${fmt(cold.importMs / cold.referenceImportMs, 2)} x`,
    );
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
