import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readSettings } from './settings.js';
import { PicsumBatchStack } from './stack.js';

/**
 * CDK feature flags this stack is written for. They live here rather than in cdk.json so that
 * tests, which build the app without the CLI, synthesize exactly what `cdk deploy` does.
 */
const FEATURE_FLAGS: Record<string, boolean> = {
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  '@aws-cdk/aws-s3:createDefaultLoggingPolicy': true,
  '@aws-cdk/aws-iam:minimizePolicies': true,
  '@aws-cdk/core:checkSecretUsage': true,
  '@aws-cdk/core:validateSnapshotRemovalPolicy': true,
  '@aws-cdk/aws-apigateway:disableCloudWatchRole': false,
};

/** Builds the app: the stack, checked by cdk-nag's AwsSolutions rules (an unacknowledged error fails synth). */
export function buildApp(app: App = new App()): { app: App; stack: PicsumBatchStack } {
  for (const [flag, value] of Object.entries(FEATURE_FLAGS)) {
    if (app.node.tryGetContext(flag) === undefined) app.node.setContext(flag, value);
  }
  const settings = readSettings((key) => app.node.tryGetContext(key));
  const stack = new PicsumBatchStack(app, String(app.node.tryGetContext('stackName') ?? 'PicsumBatch'), {
    settings,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().app.synth();
}
