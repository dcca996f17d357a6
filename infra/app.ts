import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readSettings } from './settings.js';
import { PicsumBatchStack } from './stack.js';

/** Builds the app: the stack, checked by cdk-nag's AwsSolutions rules (an unacknowledged error fails synth). */
export function buildApp(app: App = new App()): { app: App; stack: PicsumBatchStack } {
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
