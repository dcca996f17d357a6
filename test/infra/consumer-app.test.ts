import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * PicsumBatch as a user installs it: `npm pack` (which builds dist/), the tarball installed from
 * its file into a fresh CDK app outside the repository, laid out as `cdk init app --language
 * typescript` lays one out (bin/, lib/, a CommonJS tsconfig), compiled with tsc and synthesized.
 * Its other packages come from the npm registry (the npm cache, when this machine has them).
 */
const repo = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'picsum-consumer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ourVersion = (name: string) =>
  (JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });

function writeApp(app: string, tarball: string) {
  mkdirSync(join(app, 'bin'), { recursive: true });
  mkdirSync(join(app, 'lib'), { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '0.1.0', bin: { consumer: 'bin/consumer.js' }, private: true }),
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'commonjs',
        lib: ['es2022'],
        strict: true,
        skipLibCheck: true,
        typeRoots: ['./node_modules/@types'],
      },
      exclude: ['node_modules', 'cdk.out'],
    }),
  );
  writeFileSync(join(app, 'cdk.json'), JSON.stringify({ app: 'node bin/consumer.js' }));
  writeFileSync(
    join(app, 'lib', 'consumer-stack.ts'),
    `import { Stack, StackProps, Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { PicsumBatch } from 'picsum-batch';

export class ConsumerStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const images = new PicsumBatch(this, 'Images', { keyPrefix: 'picsum/', healDelay: Duration.minutes(5) });
    images.metricImagesStored();
  }
}
`,
  );
  writeFileSync(
    join(app, 'bin', 'consumer.ts'),
    `#!/usr/bin/env node
import * as cdk from 'aws-cdk-lib';
import { ConsumerStack } from '../lib/consumer-stack';

const app = new cdk.App();
new ConsumerStack(app, 'ConsumerStack', {});
`,
  );
  npm(
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
      `aws-cdk-lib@${ourVersion('aws-cdk-lib')}`,
      `constructs@${ourVersion('constructs')}`,
      `typescript@${ourVersion('typescript')}`,
      `@types/node@${ourVersion('@types/node')}`,
    ],
    app,
  );
}

describe('PicsumBatch, installed from its package', () => {
  it('packs, installs into a fresh CDK app, compiles and synthesizes there with the bundle it ships', () => {
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', work], repo)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const [pack] = packed;
    const files = pack?.files.map((file) => file.path) ?? [];
    expect(files).toEqual(expect.arrayContaining(['dist/infra/index.js', 'dist/functions/api.mjs']));
    // Only what runs: no TypeScript sources, no tests.
    expect(files.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);

    const app = join(work, 'consumer');
    writeApp(app, join(work, pack?.filename ?? ''));
    // The consumer needs no esbuild: nothing is bundled at its synth.
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);

    execFileSync(join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: app, stdio: 'pipe' });
    execFileSync(process.execPath, ['bin/consumer.js'], {
      cwd: app,
      stdio: 'pipe',
      env: { ...process.env, CDK_OUTDIR: join(app, 'cdk.out') },
    });

    const template = JSON.parse(readFileSync(join(app, 'cdk.out', 'ConsumerStack.template.json'), 'utf8')) as {
      Resources: Record<
        string,
        { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }
      >;
    };
    const functions = Object.values(template.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.Runtime === 'nodejs24.x',
    );
    expect(functions.map((fn) => fn.Properties.Handler).sort()).toEqual(['api.handler', 'workflow.handler']);
    // The functions' asset is the bundle the package shipped, copied as it is.
    const assets = JSON.parse(readFileSync(join(app, 'cdk.out', 'ConsumerStack.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
    };
    const shipped = readFileSync(join(repo, 'dist', 'functions', 'api.mjs'));
    const bundles = Object.values(assets.files)
      .map(({ source }) => join(app, 'cdk.out', source.path))
      .filter((path) => existsSync(join(path, 'api.mjs')));
    expect(bundles).toHaveLength(1);
    expect(readFileSync(join(bundles[0] ?? '', 'api.mjs')).equals(shipped)).toBe(true);
  }, 600_000);
});
