import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { AssetHashType } from 'aws-cdk-lib';
import { Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { BuildOptions } from 'esbuild';

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/**
 * Where the installed package keeps the functions built before it was packed (`npm pack` runs
 * `npm run build:package`): dist/functions, beside dist/infra, where this module is then compiled.
 */
export const PREBUILT_FUNCTIONS = fileURLToPath(new URL('../functions/', import.meta.url));

/** esbuild's banner: p-map and friends are ESM-only, some bundled CommonJS still calls require(). */
export const ESM_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * How the function is bundled: minified ESM for Node.js 24 with source maps and the AWS SDK
 * version we test, split into chunks. Code the function loads with `await import()` (undici on the
 * first fetch, the Lambda and Step Functions clients on the first launch) lands in chunks of its
 * own, read from disk only when used: in a single file, the launch clients alone added ~20 ms to
 * every cold start's parse, though most invocations never launch anything.
 */
export const BUNDLE_OPTIONS = {
  // One bundle, three entries sharing chunks: each function's handler is `{entry}.handler`.
  entryPoints: {
    api: root('lambda/function/handlers/api.ts'),
    workflow: root('lambda/function/handlers/workflow.ts'),
  },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  banner: { js: ESM_BANNER },
  logLevel: 'warning',
} satisfies BuildOptions;

/**
 * The functions' code asset; `api.mjs` and `workflow.mjs` each export a handler. Installed from a
 * package, it is the bundle the package ships, and the consumer's synth bundles nothing. In this
 * repository it is bundled from the sources with the local esbuild (no Docker), hashed by its
 * output, so an unchanged bundle is not uploaded again.
 */
export function functionCode(): Code {
  if (existsSync(PREBUILT_FUNCTIONS)) return Code.fromAsset(PREBUILT_FUNCTIONS);
  return Code.fromAsset(root('lambda/function'), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: Runtime.NODEJS_24_X.bundlingImage,
      local: {
        tryBundle(outputDir: string) {
          // Loaded only to bundle: an installed package has no esbuild, and needs none.
          const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
          buildSync({ ...BUNDLE_OPTIONS, outdir: outputDir });
          return true;
        },
      },
    },
  });
}
