import { type CfnElement, Stack, Token, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';
import type { StackSettings } from './settings.js';

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** A resource as cdk-nag names it in a finding: `<LogicalId.Arn>`, `<AWS::Partition>`, literal text. */
function nagName(scope: IConstruct, value: string): string {
  const render = (part: unknown): string => {
    if (typeof part === 'string') return part;
    const token = part as Record<string, unknown>;
    if (Array.isArray(token['Fn::GetAtt'])) return `<${(token['Fn::GetAtt'] as string[]).join('.')}>`;
    if (typeof token.Ref === 'string') return `<${token.Ref}>`;
    if (Array.isArray(token['Fn::Join']))
      return ((token['Fn::Join'] as [string, unknown[]])[1] ?? []).map(render).join('');
    return JSON.stringify(part);
  };
  return render(Stack.of(scope).resolve(value));
}

/** The parts of a PicsumBatch its acknowledgements name (a type of its own: picsum-batch.ts imports this file). */
type NaggedBatch = IConstruct & {
  bucket: IBucket;
  functions: { workflow: IFunction; executionsArn: string };
  stateMachine: IStateMachine;
};

/**
 * The cdk-nag AwsSolutions findings a PicsumBatch accepts on purpose, each with its reason.
 * Anything else is an error and fails synth. Acknowledgements are scoped to the construct they
 * concern, and name its own resources, so two instances in a stack acknowledge each their own.
 */
export function acknowledgeFindings(scope: NaggedBatch, settings: StackSettings): void {
  const stack = Stack.of(scope);
  const find = (path: string) => scope.node.findChild(path);
  const batch = find('Batch');
  const http = find('Http');
  const bucketArn = nagName(scope, scope.bucket.bucketArn);
  const workflowArn = nagName(scope, scope.functions.workflow.functionArn);

  acknowledge(
    batch,
    `AwsSolutions-IAM5[Resource::${bucketArn}/${settings.keyPrefix}*]`,
    'Each batch writes new keys under the key prefix ({prefix}{batchId}/...), unknown in advance; the grant is limited to that prefix and to PutObject/GetObject.',
  );
  acknowledge(
    batch,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (AWS X-Ray IAM docs).',
  );

  acknowledge(
    batch,
    `AwsSolutions-IAM5[Resource::${nagName(scope, scope.functions.executionsArn)}]`,
    "A running batch's status comes from its execution: states:DescribeExecution on this state machine's executions only, whose names are the batches' ids, made at run time.",
  );
  acknowledge(
    http,
    'AwsSolutions-APIG2',
    "The function checks every body itself and names the field and the value in the API's error shape, as `npm run dev` does; API Gateway's validator would answer a generic message first. Path and query parameters are still validated by API Gateway.",
  );
  if (!settings.apiLogs) {
    for (const rule of ['AwsSolutions-APIG1', 'AwsSolutions-APIG6']) {
      acknowledge(
        http,
        rule,
        "API Gateway logging needs the account's API Gateway CloudWatch role, an account-wide singleton a construct must not own; `apiLogs: true` turns it on once that role is set (docs/deploy.md).",
      );
    }
  }
  acknowledge(
    http,
    'AwsSolutions-COG4',
    settings.auth === 'iam'
      ? 'Callers authenticate with IAM (SigV4); there are no end users to keep in a Cognito user pool.'
      : 'The deployer chose auth=none on purpose (README warns); there are no end users to keep in a Cognito user pool.',
  );
  if (settings.auth === 'none') {
    acknowledge(
      http,
      'AwsSolutions-APIG4',
      'Opened explicitly with the auth=none context switch; the README warns against it.',
    );
  }
  acknowledge(
    http,
    'AwsSolutions-APIG3',
    'No WAF web ACL by default: IAM authorization, request validation and stage throttling guard the API; a WAF adds a monthly cost a small tool should not impose.',
  );
  // Step Functions: the policy CDK writes for the Distributed Map's child executions.
  const workflow = find('Workflow');
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  const machine = scope.stateMachine.node.defaultChild as CfnElement;
  const stateMachineName = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(machine)}"}]}]}`;
  const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
  const executions = `arn:${partition}:states:${region}:${account}:execution:${stateMachineName}`;
  for (const resource of [`${executions}:*`, `${executions}/Chunks:*`]) {
    acknowledge(
      workflow,
      `AwsSolutions-IAM5[Resource::${resource}]`,
      "Distributed Map: DescribeExecution/StopExecution (and RedriveExecution) on this state machine's own executions and its map runs, whose ids are made at run time.",
    );
  }
  acknowledge(
    workflow,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray tracing and CloudWatch Logs vended log delivery (logs:CreateLogDelivery and friends) support no resource-level permissions.',
  );
  acknowledge(
    workflow,
    `AwsSolutions-IAM5[Resource::${workflowArn}:*]`,
    'LambdaInvoke tasks: lambda:InvokeFunction on the workflow function and its versions/aliases only.',
  );
  acknowledge(
    find('FailedDeliveries'),
    'AwsSolutions-SQS3',
    "This queue is itself the dead-letter queue (the schedule's failed deliveries).",
  );
}
