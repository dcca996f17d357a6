// Compiles the local commands (npm start, npm run dev, npm run invoke) to plain JavaScript before
// they run: a TypeScript loader in the running process costs start-up time and tens of MB of
// memory. Packages stay external and load from node_modules as usual.
// `--bench` also compiles `npm run bench`'s contender, so that its cold batches pay no TypeScript
// loader either; `npm start` has no use for it.
import { build } from 'esbuild';

const bench = process.argv.includes('--bench') ? { 'bench-contender': 'test/bench/contender.ts' } : {};

await build({
  entryPoints: {
    cli: 'lambda/local/cli.ts',
    dev: 'lambda/local/dev.ts',
    invoke: 'lambda/local/invoke.ts',
    'invoke-local': 'lambda/local/invoke-local.ts',
    verify: 'lambda/local/verify.ts',
    ...bench,
  },
  outdir: '.build',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node24',
  sourcemap: true,
  logLevel: 'warning',
});

// The dev server's page script, for the browser.
await build({
  entryPoints: { page: 'lambda/local/pages/browser/page.ts' },
  outdir: '.build',
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  logLevel: 'warning',
});
