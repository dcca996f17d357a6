import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/app.js';

export type Synthesized = {
  template: Template;
  outdir: string;
  /** The functions' bundle folder exactly as `cdk deploy` would upload it: an entry file per function, and shared chunks. */
  bundleDir: string;
  /** Findings cdk-nag left unacknowledged. */
  violations: unknown[];
};

/** The feature flags in cdk.json, which the CLI gives the app as context: tests give them too. */
export const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }
).context;

/** Synthesizes the real app (cdk-nag included, bundling with the local esbuild) into a temp folder. */
export function synthesize(context: Record<string, unknown> = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'picsum-cdk-'));
  let assembly: ReturnType<App['synth']>;
  let stackName: string;
  try {
    // The CLI sets asset metadata; here it tells which cdk.out folder holds the function bundle.
    const { app, stack } = buildApp(
      new App({ outdir, context: { ...CDK_JSON_CONTEXT, 'aws:cdk:enable-asset-metadata': true, ...context } }),
    );
    assembly = app.synth();
    stackName = stack.stackName;
  } catch (error) {
    removeSynthesized(outdir);
    throw error;
  }
  const template = Template.fromJSON(assembly.getStackByName(stackName).template);
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { violations?: unknown[] }[];
  };
  const functions = template.findResources('AWS::Lambda::Function', {
    Properties: { Runtime: 'nodejs24.x' },
  });
  const [logicalId] = Object.keys(functions);
  const assetPath = functions[logicalId ?? '']?.Metadata?.['aws:asset:path'] as string;
  return {
    template,
    outdir,
    bundleDir: join(outdir, assetPath),
    violations: report.pluginReports.flatMap((plugin) => plugin.violations ?? []),
  };
}

/** Removes a folder `synthesize` wrote: tests leave no cdk.out folders behind. */
export function removeSynthesized(outdir: string): void {
  rmSync(outdir, { recursive: true, force: true });
}
