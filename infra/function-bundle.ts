import { fileURLToPath } from 'node:url';
import { AssetHashType } from 'aws-cdk-lib';
import { Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BuildOptions, buildSync } from 'esbuild';

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

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
 * The functions' code asset, bundled with the local esbuild (no Docker); `api.mjs` and
 * `workflow.mjs` each export a handler. Hashed by its output, so an unchanged bundle is not uploaded again.
 */
export function functionCode(): Code {
  return Code.fromAsset(root('lambda/function'), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: Runtime.NODEJS_24_X.bundlingImage,
      local: {
        tryBundle(outputDir: string) {
          buildSync({ ...BUNDLE_OPTIONS, outdir: outputDir });
          return true;
        },
      },
    },
  });
}
