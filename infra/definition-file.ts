import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { BatchWorkflow } from './batch-workflow.js';
import { readSettings, type StackSettings } from './settings.js';

/** Where the local engine reads the batch state machine's definition from (lambda/local/local-engine.ts). */
export const DEFINITION_PATH = fileURLToPath(new URL('../lambda/local/batch-definition.json', import.meta.url));

/** A CloudFormation value with its tokens (ARNs, the partition) as `<token>`: what the local engine runs does not need them. */
export function withoutTokens(value: unknown): string {
  if (typeof value === 'string') return value;
  const parts = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return parts.map((part) => (typeof part === 'string' ? part : '<token>')).join('');
}

/** The state machine's definition (Amazon States Language) as the construct synthesizes it, with `settings`. */
export function batchDefinition(settings: StackSettings = readSettings(() => undefined)): Record<string, unknown> {
  const stack = new Stack(new App(), 'Definition');
  const handler = new LambdaFunction(stack, 'Steps', {
    code: Code.fromInline('// the workflow function'),
    handler: 'index.handler',
    runtime: Runtime.NODEJS_24_X,
  });
  new BatchWorkflow(stack, 'Workflow', { settings, handler, stateMachineName: 'picsum-batch-batches' });
  const resources = stack.resolve(
    (
      stack.node.findChild('Workflow').node.findChild('StateMachine').node.defaultChild as unknown as {
        definitionString: unknown;
      }
    ).definitionString,
  );
  return JSON.parse(withoutTokens(resources));
}

/** lambda/local/batch-definition.json as it should read: the definition a default deployment runs. */
export const definitionFileText = (): string => `${JSON.stringify(batchDefinition(), null, 2)}\n`;

// `npm run definition`: writes it again after the state machine changes (npm test says when it is stale).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(DEFINITION_PATH, definitionFileText());
  console.log(`Wrote ${DEFINITION_PATH}`);
}
