import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);

describe('npm run synth', () => {
  it('synthesizes with the CDK CLI offline, bundling with the local esbuild', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'picsum-cdk-cli-'));

    await exec('node_modules/.bin/cdk', ['synth', '--quiet', '--no-notices', '--output', outdir], {
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    });

    try {
      const template = JSON.parse(readFileSync(join(outdir, 'PicsumBatch.template.json'), 'utf8'));
      const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
      expect(types).toEqual(expect.arrayContaining(['AWS::Lambda::Function', 'AWS::Scheduler::Schedule']));
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 120_000);
});
