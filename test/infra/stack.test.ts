import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchDefinition, DEFINITION_PATH, definitionFileText } from '../../infra/definition-file.js';
import { readSettings } from '../../infra/settings.js';
import { GATEWAY_ANSWERS } from '../../lambda/api-description/gateway-answers.js';
import { HTTP_STATUS } from '../../lambda/function/adapters/http-api/responses.js';
import { ERROR_CODES } from '../../lambda/function/contracts/errors.js';
import { definitionOf } from '../support/state-machine.js';
import { removeSynthesized, type Synthesized, synthesize } from './synth.js';

let defaults: Synthesized;
let custom: Synthesized;
let template: Template;

beforeAll(() => {
  defaults = synthesize();
  template = defaults.template;
  custom = synthesize({
    dev: 'true',
    auth: 'none',
    scheduleEnabled: 'false',
    scheduleExpression: 'rate(6 hours)',
    scheduleRequest: '{"count":3,"seed":"nightly"}',
    expireDays: '7',
    memoryMb: '2048',
    timeoutSeconds: '600',
    reservedConcurrency: '5',
    mapConcurrency: '2',
    linkExpirySeconds: '600',
    chunkSize: '250',
    toleratedChunkFailurePercent: '0',
    throttleRate: '3',
    throttleBurst: '6',
    maxCount: '500',
    apiLogs: 'true',
    alarmEmail: 'ops@example.com, oncall@example.com',
  });
}, 120_000);
afterAll(() => {
  for (const synthesized of [defaults, custom]) if (synthesized) removeSynthesized(synthesized.outdir);
});

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

const FUNCTIONS = ['Api', 'Workflow'] as const;

/** Every statement of every policy attached to a function's role: the runs function's, or the one named. */
function functionRoleStatements(t: Template, name: (typeof FUNCTIONS)[number] = 'Workflow'): Statement[] {
  const functions = t.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs24.x' } });
  const batchFunction = Object.entries(functions).find(([id]) => id.startsWith(`BatchesBatch${name}`))?.[1];
  const roleId = (batchFunction?.Properties.Role as { 'Fn::GetAtt': string[] } | undefined)?.['Fn::GetAtt'][0];
  const policies = t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  return Object.values(policies).flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}
const actionsOf = (statement: Statement) => [statement.Action].flat();

describe('the bucket', () => {
  it('blocks public access, encrypts, logs access to a separate bucket and expires images', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('StorageAccessLogs') } },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'images/', ExpirationInDays: 30, Status: 'Enabled' }),
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
  });

  it('refuses requests without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('StorageImages') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('is retained by default, and destroyed with its objects in a dev stack', () => {
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    custom.template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    custom.template.resourcePropertiesCountIs('Custom::S3AutoDeleteObjects', {}, 2);
  });

  it('takes the expiry from context', () => {
    custom.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 7 })]) },
    });
  });
});

describe('the functions', () => {
  it('are two, one per trigger, from one bundle: each its own handler, timeout and log group', () => {
    const functions = template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs24.x' } });
    const shapes = Object.entries(functions)
      .map(([id, fn]) => [
        id.replace(/[0-9A-F]{8}$/, '').replace(/^Batches/, ''),
        fn.Properties.Handler,
        fn.Properties.Timeout,
      ])
      .sort();
    expect(shapes).toEqual([
      ['BatchApi', 'api.handler', 30],
      ['BatchWorkflow', 'workflow.handler', 300],
    ]);
    const code = new Set(Object.values(functions).map((fn) => JSON.stringify(fn.Properties.Code)));
    expect(code.size).toBe(1);
    // No asynchronous invocation path: every batch beyond its request is an execution of the state machine.
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
  });

  it('run Node.js 24 on ARM64 with X-Ray, their own log groups and the DESIGN.md environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 300,
      MemorySize: 1024,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('BatchWorkflowLogs') } },
      Environment: {
        Variables: Match.objectLike({
          BUCKET_NAME: { Ref: Match.stringLikeRegexp('StorageImages') },
          KEY_PREFIX: 'images/',
          MAX_COUNT: '100000',
          SYNC_MAX_COUNT: '100',
          CHUNK_SIZE: '2000',
          MAP_MAX_CONCURRENCY: '8',
          SOURCE_MAX_CONCURRENCY: '128',
          STATE_MACHINE_ARN: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':states:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':stateMachine:PicsumBatch-Batches-9FF57558-batches',
              ],
            ],
          },
        }),
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it("takes memory, timeout, reserved concurrency, limits and the links' lifetime from context", () => {
    custom.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      MemorySize: 2048,
      Timeout: 600,
      ReservedConcurrentExecutions: 5,
      Environment: {
        Variables: Match.objectLike({
          MAX_COUNT: '500',
          CHUNK_SIZE: '250',
          MAP_MAX_CONCURRENCY: '2',
          LINK_EXPIRY_S: '600',
        }),
      },
    });
  });

  it('may put and get objects under the key prefix only: no wildcard actions, no delete, no S3 on "*"', () => {
    const statements = functionRoleStatements(template);
    const actions = statements.flatMap(actionsOf);

    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
    expect(actions.filter((action) => action.startsWith('s3:')).sort()).toEqual([
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
    expect(actions.filter((action) => /delete/i.test(action))).toEqual([]);
    for (const statement of statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')))) {
      // Neither '*' nor a list holding it.
      expect([statement.Resource].flat()).not.toContain('*');
    }
    const objects = statements.find((s) => actionsOf(s).includes('s3:PutObject'));
    expect(objects?.Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^BatchesStorageImages/), 'Arn'] }, '/images/*']],
    });
    const list = statements.find((s) => actionsOf(s).includes('s3:ListBucket'));
    expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': ['images/*'] } });
  });

  it("lets the API's function alone delete, and only objects under the key prefix (DELETE /batches/{batchId})", () => {
    const statements = functionRoleStatements(template, 'Api');
    const s3Actions = statements.flatMap(actionsOf).filter((action) => action.startsWith('s3:'));
    expect(s3Actions.sort()).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    const deletes = statements.find((s) => actionsOf(s).includes('s3:DeleteObject'));
    expect(deletes?.Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^BatchesStorageImages/), 'Arn'] }, '/images/*']],
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'DELETE',
      AuthorizationType: 'AWS_IAM',
      ResourceId: { Ref: Match.stringLikeRegexp('batchId') },
    });
  });

  it('grants "*" resources only for X-Ray, which has no resource-level permissions', () => {
    const wide = functionRoleStatements(template).filter((s) => s.Resource === '*');
    expect(wide.flatMap(actionsOf).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  it.each(FUNCTIONS)(
    '%s: may start the batch state machine, describe its executions and put batch events; invokes no function',
    (name) => {
      const statements = functionRoleStatements(template, name);
      expect(statements.filter((s) => actionsOf(s).includes('lambda:InvokeFunction'))).toEqual([]);
      const states = statements.filter((s) => actionsOf(s).some((action) => action.startsWith('states:')));
      expect(states.flatMap(actionsOf)).toEqual(['states:StartExecution', 'states:DescribeExecution']);
      expect(JSON.stringify(states[0]?.Resource)).toContain(':stateMachine:PicsumBatch-Batches-9FF57558-batches');
      expect(JSON.stringify(states[1]?.Resource)).toContain(':execution:PicsumBatch-Batches-9FF57558-batches:*');
      // A batch's event goes on the default bus, and only there.
      const events = statements.filter((s) => actionsOf(s).some((action) => action.startsWith('events:')));
      expect(events.flatMap(actionsOf)).toEqual(['events:PutEvents']);
      expect(JSON.stringify(events[0]?.Resource)).toMatch(/:event-bus\/default"\]\]\}$/);
      expect(statements.flatMap(actionsOf).filter((action) => !/^(s3|logs|xray|states|events):/.test(action))).toEqual(
        [],
      );
    },
  );
});

describe('the API', () => {
  it('is a regional REST API with IAM authorization on its five routes, and on every other method and path, by default', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    // Five routes, and ANY on /, /{proxy+}, /batches, /batches/{batchId} and its /retry: the function answers 404 and 405.
    template.resourcePropertiesCountIs('AWS::ApiGateway::Method', { AuthorizationType: 'AWS_IAM' }, 10);
    template.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'ANY' }, 5);
    // GET /batches: the listing, its page parameters optional
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      RequestParameters: { 'method.request.querystring.limit': false, 'method.request.querystring.cursor': false },
    });
    template.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'POST' }, 2);
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'GET', AuthorizationType: 'AWS_IAM' });
    // POST /batches/{batchId}/retry
    const retry = Object.entries(template.findResources('AWS::ApiGateway::Resource')).find(
      ([, resource]) => resource.Properties.PathPart === 'retry',
    );
    expect(retry?.[1].Properties.ParentId).toEqual({ Ref: expect.stringMatching(/batchId/) });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      ResourceId: { Ref: retry?.[0] },
      RequestParameters: { 'method.request.path.batchId': true },
    });
  });

  it('opens only when auth=none is asked for', () => {
    custom.template.resourcePropertiesCountIs('AWS::ApiGateway::Method', { AuthorizationType: 'NONE' }, 10);
  });

  it('leaves the body to the function, documenting it with a model that mirrors the request schema', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: false,
      ValidateRequestParameters: true,
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestValidatorId: { Ref: Match.stringLikeRegexp('HttpValidator') },
      RequestModels: { 'application/json': { Ref: Match.stringLikeRegexp('HttpBatchRequest') } },
    });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      Schema: {
        type: 'object',
        additionalProperties: false,
        properties: {
          count: { type: 'integer', minimum: 1, maximum: 100000 },
          width: { type: 'integer', minimum: 1, maximum: 5000 },
          height: { type: 'integer', minimum: 1, maximum: 5000 },
          concurrency: { type: 'integer', minimum: 1, maximum: 64 },
          grayscale: { type: 'boolean' },
          blur: { type: 'integer', minimum: 1, maximum: 10 },
          format: { type: 'string', enum: ['jpg', 'webp'] },
          seed: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
        },
      },
    });
    custom.template.hasResourceProperties('AWS::ApiGateway::Model', {
      Schema: Match.objectLike({ properties: Match.objectLike({ count: Match.objectLike({ maximum: 500 }) }) }),
    });
  });

  it('throttles and traces on its stage; writes JSON access logs only when asked, owning no account-wide role', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: Match.absent(),
      MethodSettings: [
        Match.objectLike({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20, LoggingLevel: Match.absent() }),
      ],
    });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    custom.template.resourceCountIs('AWS::ApiGateway::Account', 0);
    custom.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: { Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 3, ThrottlingBurstLimit: 6, LoggingLevel: 'ERROR' })],
    });
  });
});

describe('the schedule', () => {
  it('starts the batch state machine with 15 images of 600x400 a day, its name and the scheduled time in the payload', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: Match.stringLikeRegexp('^PicsumBatch-Batches-[0-9A-F]{8}-batch$'),
      ScheduleExpression: 'rate(1 day)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Input: JSON.stringify({
          kind: 'picsum-batch.run',
          request: { count: 15, width: 600, height: 400 },
          scheduleName: 'PicsumBatch-Batches-9FF57558-batch',
          scheduledTime: '<aws.scheduler.scheduled-time>',
        }),
        Arn: { Ref: Match.stringLikeRegexp('WorkflowStateMachine') },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 7200 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailedDeliveries'), 'Arn'] } },
      }),
    });
  });

  it('takes its expression, request and state from context', () => {
    custom.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(6 hours)',
      State: 'DISABLED',
      Target: Match.objectLike({ Input: Match.stringLikeRegexp('"request":\\{"count":3,"seed":"nightly"\\}') }),
    });
  });

  it('refuses a scheduled request the function would refuse, at synth', () => {
    expect(() => synthesize({ scheduleRequest: '{"count":0}' })).toThrow(/`count`/);
  });

  it("refuses, at synth, limits the function would refuse or chunks over the workflow function's cap", () => {
    expect(() => synthesize({ syncMaxCount: '500', chunkSize: '300' })).toThrow(
      /Expected context `chunkSize` to be an integer from 500 to 100000, got "300"/,
    );
    expect(() => synthesize({ mapConcurrency: '20', sourceMaxConcurrency: '10' })).toThrow(
      /Expected context `sourceMaxConcurrency` to be an integer from 20 to 100000/,
    );
    expect(() => synthesize({ alarmEmail: 'ops@example.com,not-an-address' })).toThrow(
      /`alarmEmail` to be email addresses separated by commas, got "not-an-address"/,
    );
    expect(() => synthesize({ reservedConcurrency: '7' })).toThrow(
      /`mapConcurrency` \(8\) to be at most `reservedConcurrency` \(7\)/,
    );
  });

  it('keeps failed deliveries in an encrypted queue that refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('observability', () => {
  type AlarmProperties = {
    AlarmName: string;
    Threshold?: number;
    EvaluationPeriods?: number;
    DatapointsToAlarm?: number;
    AlarmActions?: unknown[];
    OKActions?: unknown[];
    MetricName?: string;
    Namespace?: string;
    Metrics?: { Expression?: string; MetricStat?: { Metric: { MetricName: string; Namespace: string } } }[];
  };
  const alarmsOf = (t: Template) =>
    Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties as AlarmProperties);
  /** Every metric an alarm reads, as `Namespace/MetricName`, and its math. */
  const readsOf = (alarm: AlarmProperties) => [
    ...(alarm.MetricName ? [`${alarm.Namespace}/${alarm.MetricName}`] : []),
    ...(alarm.Metrics ?? []).flatMap((entry) => [
      ...(entry.MetricStat ? [`${entry.MetricStat.Metric.Namespace}/${entry.MetricStat.Metric.MetricName}`] : []),
      ...(entry.Expression ? [entry.Expression] : []),
    ]),
  ];
  const topicRef = () => {
    const [topic] = Object.keys(template.findResources('AWS::SNS::Topic'));
    return { Ref: topic };
  };

  it('sends every alarm, and its return to OK, to the alarm topic', () => {
    const alarms = alarmsOf(template);
    expect(alarms).toHaveLength(14);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([topicRef()]);
      expect(alarm.OKActions).toEqual([topicRef()]);
    }
  });

  it("alarms on API 5XX and p99 latency, function errors, throttles and duration near the timeout, failed, timed-out, throttled or aborted executions, the schedule's failed deliveries and the failed-image ratio", () => {
    const reads = alarmsOf(template).map(readsOf);
    const alarmsReading = (metric: string) => reads.filter((read) => read.includes(metric)).length;
    expect(alarmsReading('AWS/ApiGateway/5XXError')).toBe(1);
    expect(alarmsReading('AWS/Lambda/Errors')).toBe(2);
    expect(alarmsReading('AWS/Lambda/Throttles')).toBe(2);
    expect(alarmsReading('AWS/States/ExecutionsFailed')).toBe(1);
    expect(alarmsReading('AWS/States/ExecutionsTimedOut')).toBe(1);
    expect(alarmsReading('AWS/States/ExecutionThrottled')).toBe(1);
    expect(alarmsReading('AWS/States/ExecutionsAborted')).toBe(1);
    // Each function near its timeout (90% of it), and the API near the integration's 29 s.
    expect(alarmsReading('AWS/Lambda/Duration')).toBe(2);
    expect(alarmsReading('AWS/ApiGateway/Latency')).toBe(1);
    const thresholds = Object.fromEntries(
      alarmsOf(template).map((alarm) => [
        alarm.AlarmName.replace(/^PicsumBatch-Batches-[0-9A-F]{8}-/, ''),
        alarm.Threshold,
      ]),
    );
    // Counts alarm on one 5-minute period; latency and the failed-image ratio on three in a row.
    for (const alarm of alarmsOf(template)) {
      const periods = /Latency|Ratio/.test(alarm.AlarmName) ? 3 : 1;
      expect([alarm.EvaluationPeriods, alarm.DatapointsToAlarm], alarm.AlarmName).toEqual([periods, periods]);
    }
    expect(thresholds).toMatchObject({
      'Api-Latency-P99-Critical': 25_000,
      'ApiFunction-Latency-P99-Critical': 27_000,
      'WorkflowFunction-Latency-P99-Critical': 270_000,
    });
    expect(alarmsReading('AWS/SQS/ApproximateNumberOfMessagesVisible')).toBe(1);
    const ratio = alarmsOf(template).filter((alarm) =>
      readsOf(alarm).includes('IF(stored + failed > 0, failed / (stored + failed), 0)'),
    );
    expect(ratio).toHaveLength(1);
    expect(readsOf(ratio[0] as AlarmProperties)).toEqual(
      expect.arrayContaining(['PicsumBatch/ImagesStored', 'PicsumBatch/ImagesFailed']),
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 0.1,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([Match.objectLike({ Expression: Match.stringLikeRegexp('^IF\\(stored') })]),
    });
  });

  it('draws a dashboard of the batches and every part they run on', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties);
    for (const title of [
      'Images',
      'Failed images by reason',
      'Failed-image ratio',
      'Batch duration (ms)',
      'Item latency (ms), per batch',
      'Batch events not put',
    ]) {
      expect(body).toContain(`\\"title\\":\\"${title}\\"`);
    }
    for (const metric of [
      'ImagesStored',
      'ImagesFailed',
      'ImagesFailedByReason',
      'BatchElapsedMs',
      'ItemLatencyP50Ms',
      'ItemLatencyP99Ms',
      '\\"Count\\"', // API requests
      '4XXError',
      '5XXError',
      'Latency',
      'Duration',
      'Throttles',
      'ConcurrentExecutions',
      'ExecutionsStarted',
      'ExecutionsFailed',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(metric);
    }
  });

  it('emails the addresses of `alarmEmail`, and none by default', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(
      Object.values(custom.template.findResources('AWS::SNS::Subscription')).map((subscription) => [
        subscription.Properties.Protocol,
        subscription.Properties.Endpoint,
      ]),
    ).toEqual([
      ['email', 'ops@example.com'],
      ['email', 'oncall@example.com'],
    ]);
    // Only over TLS: the topic refuses publishing without it.
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
      },
    });
  });

  it('outputs the API URL, bucket, schedule name and the state machine', () => {
    const outputs = template.findOutputs('*');
    const value = (name: string) => JSON.stringify(outputs[name]?.Value);
    expect(value('ApiUrl')).toMatch(
      /^\{"Fn::Join":\["",\["https:\/\/",\{"Ref":"BatchesHttpApi[A-Za-z0-9]+"\},".execute-api."/,
    );
    expect(value('BucketName')).toMatch(/^\{"Ref":"BatchesStorageImages[A-Za-z0-9]+"\}$/);
    expect(outputs.RunsFunctionName).toBeUndefined();
    expect(value('ScheduleName')).toMatch(/^\{"Ref":"BatchesScheduledSchedule[A-Za-z0-9]+"\}$/);
    expect(value('StateMachineArn')).toMatch(/^\{"Ref":"BatchesWorkflowStateMachine[A-Za-z0-9]+"\}$/);
    // The source a rule matches, as each function puts it.
    expect(outputs.EventSource?.Value).toBe('picsum-batch.PicsumBatch-Batches-9FF57558');
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const env = (fn.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables;
      if (env?.BUCKET_NAME === undefined) continue;
      expect([env.EVENT_SOURCE, env.EVENT_BUS_NAME]).toEqual(['picsum-batch.PicsumBatch-Batches-9FF57558', 'default']);
    }
  });
});

describe('the batch state machine (every batch beyond its request)', () => {
  it('is a Standard state machine named for the functions to start: plan, map over chunks, aggregate; or admit a run', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'PicsumBatch-Batches-9FF57558-batches',
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
    const definition = definitionOf(template);
    expect(definition.StartAt).toBe('RunOrJob');
    expect(definition.States.RunOrJob).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.kind', IsPresent: true, Next: 'Admit' }],
      Default: 'Plan',
    });
    expect(definition.States.Plan).toMatchObject({ Type: 'Task', Next: 'Chunks' });
    expect(definition.States.Plan.Parameters).toEqual({
      kind: 'picsum-batch.plan',
      'job.$': '$',
      'execution.$': '$$.Execution.Name',
    });
    expect(definition.States.Chunks.Next).toBe('Aggregate');
    expect(definition.States.Aggregate.Parameters).toEqual({ kind: 'picsum-batch.aggregate', 'plan.$': '$' });
    expect(definition.States.Aggregate.Next).toBe('HealOrEnd');
    expect(definition.States.HealOrEnd.Default).toBe('AllChunksRan');
    expect(definition.States.AllChunksRan.Choices[0]).toMatchObject({
      Variable: '$.mapError',
      IsPresent: true,
      Next: 'TooManyChunksFailed',
    });
    expect(definition.States.TooManyChunksFailed.Type).toBe('Fail');
  });

  it('is the definition the local engine runs: lambda/local/batch-definition.json, as `npm run definition` writes it', () => {
    const synthesized = JSON.stringify(definitionOf(template)).replaceAll(
      'PicsumBatch-Batches-9FF57558-batches',
      'picsum-batch-batches',
    );
    expect(JSON.parse(synthesized)).toEqual(JSON.parse(readFileSync(DEFINITION_PATH, 'utf8')));
    expect(JSON.parse(readFileSync(DEFINITION_PATH, 'utf8'))).toEqual(JSON.parse(definitionFileText()));
  });

  it('maps in DISTRIBUTED mode over chunk descriptors, with MaxConcurrency and a failure threshold from context', () => {
    const chunks = definitionOf(template).States.Chunks;
    expect(chunks).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.chunks',
      MaxConcurrency: 8,
      ToleratedFailurePercentage: 10,
      ResultPath: null,
      ItemSelector: {
        'batchId.$': '$.batchId',
        'request.$': '$.request',
        'concurrency.$': '$.concurrency',
        'startedAt.$': '$.startedAt',
        'chunk.$': '$$.Map.Item.Value',
      },
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'RunChunk' },
    });
    expect(chunks.ItemProcessor.States.RunChunk.Parameters).toEqual({
      kind: 'picsum-batch.chunk',
      'task.$': '$',
    });
    // A failed map still aggregates: every item ends stored or failed in the manifest.
    expect(chunks.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.mapError', Next: 'Aggregate' }]);
    const customChunks = definitionOf(custom.template).States.Chunks;
    expect(customChunks.MaxConcurrency).toBe(2);
    // 0 is Step Functions' default (no chunk may fail), and CDK leaves it out.
    expect(customChunks.ToleratedFailurePercentage ?? 0).toBe(0);
  });

  it("admits the schedule's run envelope and starts the batch as an execution named after it, once", () => {
    const { States } = definitionOf(template);
    // The envelope as Scheduler sent it: no Parameters, the task gets the whole state.
    expect(States.Admit).toMatchObject({ Type: 'Task', Next: 'StartBatch' });
    expect(States.Admit.Parameters).toBeUndefined();
    expect(States.StartBatch).toMatchObject({
      Type: 'Task',
      Resource: 'arn:<token>:states:::states:startExecution',
      Parameters: { 'Name.$': '$.batchId', 'Input.$': '$' },
      Catch: [{ ErrorEquals: ['StepFunctions.ExecutionAlreadyExistsException'], Next: 'AlreadyStarted' }],
      Next: 'Started',
    });
    expect(States.StartBatch.Parameters.StateMachineArn).toMatch(/:stateMachine:PicsumBatch-Batches-9FF57558-batches$/);
  });

  it('heals a scheduled first run left with failed items: waits healDelaySeconds, claims a retry, plans it', () => {
    const { States } = definitionOf(template);
    expect(States.HealOrEnd.Choices).toEqual([
      {
        And: [
          { Variable: '$.scheduled', IsPresent: true },
          { Not: { Variable: '$.retry', IsPresent: true } },
          { Variable: '$.summary.failed', NumericGreaterThan: 0 },
        ],
        Next: 'HealDelay',
      },
    ]);
    expect(States.HealDelay).toEqual({ Type: 'Wait', Seconds: 900, Next: 'ClaimHeal' });
    expect(States.ClaimHeal).toMatchObject({
      Type: 'Task',
      Parameters: { kind: 'picsum-batch.heal', 'batchId.$': '$.batchId' },
      Next: 'HealClaimed',
    });
    expect(States.HealClaimed).toMatchObject({
      Choices: [{ Variable: '$.retry', IsPresent: true, Next: 'Plan' }],
      Default: 'NothingToHeal',
    });
    // healDelaySeconds 0: no heal at all.
    const noHeal = batchDefinition({ ...readSettings(() => undefined), healDelaySeconds: 0 });
    expect((noHeal.States as Record<string, unknown>).HealDelay).toBeUndefined();
  });

  it('retries every step on Lambda throttling and service errors, with backoff', () => {
    const definition = definitionOf(template);
    const steps = [
      definition.States.Admit,
      definition.States.ClaimHeal,
      definition.States.Plan,
      definition.States.Chunks.ItemProcessor.States.RunChunk,
      definition.States.Aggregate,
    ];
    for (const step of steps) {
      expect(step.Retry).toContainEqual(
        expect.objectContaining({
          ErrorEquals: expect.arrayContaining(['Lambda.TooManyRequestsException', 'Lambda.ServiceException']),
          MaxAttempts: 6,
          BackoffRate: 2,
        }),
      );
    }
    // A repeat of Aggregate stores the same bytes again, or finds the batch aggregated: any error is worth two more tries.
    expect(definition.States.Aggregate.Retry).toContainEqual(
      expect.objectContaining({ ErrorEquals: ['States.TaskFailed'], MaxAttempts: 2 }),
    );
  });

  it('records a plan, aggregate or heal claim that fails for good as the batch status, then fails the execution', () => {
    const { States } = definitionOf(template);
    const toRecord = { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RecordFailure' };
    expect(States.Plan.Catch).toEqual([toRecord]);
    expect(States.Aggregate.Catch).toEqual([toRecord]);
    expect(States.ClaimHeal.Catch).toEqual([toRecord]);
    expect(States.RecordFailure.Parameters).toEqual({
      kind: 'picsum-batch.failed',
      'batchId.$': '$.batchId',
      'requested.$': '$.request.count',
      'failure.$': '$.failure',
    });
    expect(States.RecordFailure.Next).toBe('BatchFailed');
    expect(States.BatchFailed).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.failure.Error',
      CausePath: '$.failure.Cause',
    });
  });

  it("may start its own executions (the map's children, a scheduled batch), watch them, and invoke the workflow function, nothing else", () => {
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    const roleId = machine?.Properties.RoleArn['Fn::GetAtt'][0];
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const starts = statements.filter((s) => actionsOf(s).includes('states:StartExecution'));
    expect(starts.map((s) => s.Resource)).toContainEqual({
      Ref: expect.stringMatching(/^BatchesWorkflowStateMachine/),
    });
    // StartBatch names the machine by its ARN, built from its name (a machine cannot Ref itself).
    for (const start of starts) {
      expect(JSON.stringify(start.Resource)).toMatch(
        /BatchesWorkflowStateMachine|:stateMachine:PicsumBatch-Batches-9FF57558-batches/,
      );
    }
    const watch = statements.find((s) => actionsOf(s).includes('states:DescribeExecution'));
    expect(actionsOf(watch as Statement).sort()).toEqual(['states:DescribeExecution', 'states:StopExecution']);
    const invoke = statements.filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
    expect(JSON.stringify(invoke.map((s) => s.Resource))).toMatch(/BatchWorkflow/);
    expect(JSON.stringify(invoke.map((s) => s.Resource))).not.toMatch(/BatchApi|BatchRuns/);
    const actions = new Set(statements.flatMap(actionsOf));
    for (const action of actions) expect(action).toMatch(/^(states|lambda|xray|logs):[A-Za-z]+$/);
  });
});

describe('cdk-nag and the bundle', () => {
  it('leaves no AwsSolutions finding unacknowledged, with either auth setting', () => {
    expect(defaults.violations).toEqual([]);
    expect(custom.violations).toEqual([]);
  });

  it('ships a minified ESM bundle with a createRequire banner, a source map and the AWS SDK inside', () => {
    const files = readdirSync(defaults.bundleDir, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.mjs'),
    );
    const bundle = files.map((file) => readFileSync(join(defaults.bundleDir, file), 'utf8')).join('\n');
    for (const entry of ['api.mjs', 'workflow.mjs']) {
      const code = readFileSync(join(defaults.bundleDir, entry), 'utf8');
      // Booleans, not the bundle itself: a failing match must not print 1.5 MB of minified code.
      expect(code.startsWith("import { createRequire as __createRequire } from 'node:module';")).toBe(true);
      expect(/export\s*\{[^}]*\bas handler\b/.test(code) || /export\s*\{\s*handler\b/.test(code)).toBe(true);
      expect(statSync(join(defaults.bundleDir, `${entry}.map`)).size).toBeGreaterThan(0);
    }
    expect(/from\s*["']@aws-sdk\//.test(bundle)).toBe(false);
    expect(bundle.includes('"PutObject"')).toBe(true);
    expect(bundle.length / bundle.split('\n').length).toBeGreaterThan(1000);
  });
});

describe('what API Gateway answers on its own', () => {
  /** A gateway response's template as API Gateway fills it in, with `message` as its own message. */
  const render = (template: string, message: string) =>
    template.replace('$context.error.messageString', JSON.stringify(message));

  it("answers every refusal of its own in the API's error shape, with the status and headers of the table", () => {
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
    expect(responses.map((r) => r.Properties.ResponseType).sort()).toEqual(GATEWAY_ANSWERS.map((a) => a.type).sort());
    for (const answer of GATEWAY_ANSWERS) {
      const response = responses.find((r) => r.Properties.ResponseType === answer.type)?.Properties;
      const body = JSON.parse(render(response?.ResponseTemplates['application/json'], 'Signature expired'));
      expect(body).toEqual({ error: { code: answer.code, message: answer.message ?? 'Signature expired' } });
      expect(ERROR_CODES).toHaveProperty(answer.code);
      expect(response?.StatusCode).toBe(answer.type === 'DEFAULT_4XX' ? undefined : String(HTTP_STATUS[answer.code]));
      expect(response?.ResponseParameters['gatewayresponse.header.content-type']).toBe(
        "'application/json; charset=utf-8'",
      );
    }
    const throttled = responses.find((r) => r.Properties.ResponseType === 'THROTTLED')?.Properties;
    expect(throttled).toMatchObject({
      StatusCode: '429',
      ResponseParameters: { 'gatewayresponse.header.retry-after': "'1'" },
    });
    const unsigned = responses.find((r) => r.Properties.ResponseType === 'MISSING_AUTHENTICATION_TOKEN')?.Properties;
    expect(unsigned?.StatusCode).toBe('403');
  });
});
