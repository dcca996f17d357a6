import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { ESM_BANNER } from '../../infra/function-bundle.js';
import { synthesize } from '../infra/synth.js';
import { median } from './measure.js';

const exec = promisify(execFile);

/** The Node.js that imports the bundles: this process's own, the project's Node.js 24. */
const lambdaNode = process.execPath;

/** Milliseconds to import a module in a fresh Node process, module evaluation included. */
async function importMs(path: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(path).href)}); console.log(performance.now() - t);`;
  const { stdout } = await exec(lambdaNode, ['--input-type=module', '-e', script], {
    env: { ...process.env, BUCKET_NAME: 'cold-start', AWS_REGION: 'us-east-1' },
  });
  return Number(stdout.trim());
}

/**
 * Bytes a cold start reads: every file the entry's import loads, the chunks its init loads with
 * `await import()` included (undici, since the function loads it at init). Listed by a load hook
 * on Node 24 (module.registerHooks), in a run of its own so that the hook costs the timings nothing.
 */
async function startupBytes(entry: string): Promise<number> {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    await import(${JSON.stringify(pathToFileURL(entry).href)});
    console.log(JSON.stringify(loaded));`;
  const { stdout } = await exec(lambdaNode, ['--input-type=module', '-e', script], {
    env: { ...process.env, BUCKET_NAME: 'cold-start', AWS_REGION: 'us-east-1' },
  });
  const folder = pathToFileURL(dirname(entry)).href;
  const files = (JSON.parse(stdout.trim()) as string[]).filter((url) => url.startsWith(folder));
  return files.reduce((sum, url) => sum + statSync(fileURLToPath(url)).size, 0);
}

/** Bytes of the code files (.mjs, not source maps) in a bundle's folder, chunks included. */
function codeBytes(folder: string): number {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.mjs'))
    .reduce((sum, name) => sum + statSync(join(folder, name)).size, 0);
}

/**
 * Bundles `source` (an ES module) with the function bundle's esbuild settings into a fresh folder
 * named after `prefix`; resolves with the bundle's path.
 */
export async function bundleLikeTheFunction(prefix: string, source: string): Promise<string> {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(folder, 'entry.mjs'), source);
  const outfile = join(folder, 'index.mjs');
  await build({
    entryPoints: [join(folder, 'entry.mjs')],
    outfile,
    nodePaths: [join(process.cwd(), 'node_modules')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    banner: { js: ESM_BANNER },
    logLevel: 'silent',
  });
  return outfile;
}

/**
 * The bundle `cdk synth` writes, against a reference bundle holding only @aws-sdk/client-s3 built
 * with the same esbuild settings: sizes, and import times measured alternately in fresh processes.
 */
export async function coldStart(rounds = 15) {
  // The API function: the one a cold request reaches.
  const bundlePath = join(synthesize().bundleDir, 'api.mjs');
  const referencePath = await bundleLikeTheFunction(
    'picsum-reference-',
    "import { S3Client } from '@aws-sdk/client-s3';\nexport const client = new S3Client({});\n",
  );
  const ours: number[] = [];
  const reference: number[] = [];
  for (let round = 0; round < rounds; round++) {
    ours.push(await importMs(bundlePath));
    reference.push(await importMs(referencePath));
  }
  return {
    /** Every chunk, whether an invocation loads it or not. */
    bundleBytes: codeBytes(dirname(bundlePath)),
    /** What every cold start reads: the entry file and the chunks its init loads. */
    entryBytes: await startupBytes(bundlePath),
    node: (await exec(lambdaNode, ['--version'])).stdout.trim(),
    referenceBytes: statSync(referencePath).size,
    importMs: median(ours),
    referenceImportMs: median(reference),
  };
}
