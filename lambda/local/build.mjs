// Compiles the local commands (npm start, npm run dev, npm run invoke) to plain JavaScript before
// they run: a TypeScript loader in the running process costs start-up time and tens of MB of
// memory. Packages stay external and load from node_modules as usual.
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';

// Chunk names change with their content: start from an empty folder, so old chunks do not pile up.
await rm('.build', { recursive: true, force: true });

await build({
  entryPoints: {
    cli: 'lambda/local/cli.ts',
    dev: 'lambda/local/dev.ts',
    invoke: 'lambda/local/invoke.ts',
    // `npm run bench`'s contenders run compiled like `npm start`, so a cold batch pays no TypeScript loader.
    'bench-contender': 'test/bench/contender.ts',
  },
  outdir: '.build',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
