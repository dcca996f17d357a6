import { type CfnElement, type Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { StackSettings } from './settings.js';

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * The cdk-nag AwsSolutions findings this stack accepts on purpose, each with its reason. Anything
 * else is an error and fails synth. Acknowledgements are scoped to the construct they concern.
 */
export function acknowledgeFindings(stack: Stack, settings: StackSettings): void {
  const find = (path: string) => stack.node.findChild(path);
  const batch = find('Batch');
  const http = find('Http');
  // cdk-nag names resources in findings by logical id, e.g. `<StorageImagesCFC0E004.Arn>`.
  const logicalId = (path: string[]) =>
    stack.getLogicalId(
      path.reduce((node, id) => node.node.findChild(id), stack as IConstruct).node.defaultChild as CfnElement,
    );
  const bucketArn = `<${logicalId(['Storage', 'Images'])}.Arn>`;
  const runsArn = `<${logicalId(['Batch', 'Runs'])}.Arn>`;
  const workflowArn = `<${logicalId(['Batch', 'Workflow'])}.Arn>`;

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
    stack,
    `AwsSolutions-IAM5[Resource::${runsArn}:*]`,
    "EventBridge Scheduler's role (made by the LambdaInvoke target) and the API function's grant: lambda:InvokeFunction on the runs function and its versions/aliases only.",
  );
  acknowledge(
    http,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    "API Gateway's account-wide CloudWatch role; AWS's managed policy is the documented way to let API Gateway write execution logs.",
  );
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
  const stateMachineName = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(['Workflow', 'StateMachine'])}"}]}]}`;
  const executions = `arn:<AWS::Partition>:states:${region}:${account}:execution:${stateMachineName}`;
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
    find('FailedRuns'),
    'AwsSolutions-SQS3',
    'This queue is itself the dead-letter queue (failed scheduled deliveries and failed asynchronous runs).',
  );
}
