// `npm run build:package` (and `npm pack`, through prepack): what an installed PicsumBatch is.
// dist/infra and what it imports, compiled to JavaScript with their types; dist/functions, the
// functions bundled as `cdk deploy` would bundle them here. A consumer's synth then needs neither
// esbuild nor the TypeScript sources.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { BUNDLE_OPTIONS } from './function-bundle.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = fileURLToPath(new URL('../dist/', import.meta.url));

rmSync(dist, { recursive: true, force: true });
execFileSync(fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url)), ['-p', 'tsconfig.package.json'], {
  cwd: root,
  stdio: 'inherit',
});
buildSync({ ...BUNDLE_OPTIONS, outdir: `${dist}functions` });
console.error(`Wrote ${dist}infra (the construct) and ${dist}functions (its bundle)`);
