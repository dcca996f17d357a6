// Compiles the local commands (npm start, npm run dev, npm run invoke) to plain JavaScript before
// they run: a TypeScript loader in the running process costs start-up time and tens of MB of
// memory. Packages stay external and load from node_modules as usual.
import { build } from 'esbuild';

await build({
  entryPoints: {
    cli: 'lambda/local/cli.ts',
    dev: 'lambda/local/dev.ts',
    invoke: 'lambda/local/invoke.ts',
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
