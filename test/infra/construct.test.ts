import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AuthorizationType } from 'aws-cdk-lib/aws-apigateway';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PicsumBatch } from '../../infra/index.js';
import { DASHBOARD_UNTAGGED_REGIONS } from '../../infra/regional-gaps.js';
import { CDK_JSON_CONTEXT } from './synth.js';

const outdir = mkdtempSync(join(tmpdir(), 'picsum-construct-'));
let template: Template;
let violations: unknown[];
let first: PicsumBatch;
let second: PicsumBatch;
let stack: Stack;

beforeAll(() => {
  // An app as `cdk init` makes one: the recommended feature flags, as in cdk.json.
  const app = new App({ outdir, context: CDK_JSON_CONTEXT });
  stack = new Stack(app, 'Host', { env: { account: '123456789012', region: 'eu-west-1' } });
  first = new PicsumBatch(stack, 'Nightly');
  // The second brings its own bucket, event bus and alarm topic, as a team with them would.
  const bucket = Bucket.fromBucketName(stack, 'Existing', 'team-images');
  const eventBus = EventBus.fromEventBusName(stack, 'TeamBus', 'team-events');
  const alarmTopic = Topic.fromTopicArn(stack, 'TeamAlarms', 'arn:aws:sns:eu-west-1:123456789012:team-alarms');
  second = new PicsumBatch(stack, 'Thumbnails', {
    bucket,
    eventBus,
    alarmTopic,
    keyPrefix: 'thumbs/',
    scheduleEnabled: false,
  });
  const caller = new Role(stack, 'Caller', { assumedBy: new AccountRootPrincipal() });
  first.grantInvoke(caller);
  // A second caller opens what the API names: the images, manifests and reports under the prefix.
  const reader = new Role(stack, 'Reader', { assumedBy: new AccountRootPrincipal() });
  second.grantReadImages(reader);
  // The reader's policy is the app's too: reading under the prefix (and the bucket's key, if any) is the point.
  for (const finding of [
    'Action::s3:GetBucket*',
    'Action::s3:GetObject*',
    'Action::s3:List*',
    'Resource::arn:aws:s3:::team-images/thumbs/*',
  ])
    Validations.of(reader).acknowledge({
      id: `AwsSolutions-IAM5[${finding}]`,
      reason: 'grantReadImages: reading under the key prefix',
    });
  // The caller's policy is the app's: every route of the API (`/*/*`) is what grantInvoke is for.
  Validations.of(caller).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::arn:aws:execute-api:eu-west-1:123456789012:<NightlyHttpApi6FF53414>/<NightlyHttpApiDeploymentStagev11C9C89A1>/*/*]',
    reason: 'grantInvoke: every route of the API, on its one stage',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const assembly = app.synth();
  template = Template.fromJSON(assembly.getStackByName('Host').template);
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { violations?: unknown[] }[];
  };
  violations = report.pluginReports.flatMap((plugin) => plugin.violations ?? []);
}, 180_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const namesOf = (type: string, property: string) =>
  Object.values(template.findResources(type)).map((resource) => resource.Properties[property]);

describe('PicsumBatch, twice in one stack', () => {
  it('synthesizes with no cdk-nag finding left, and no account-wide resource', () => {
    expect(violations).toEqual([]);
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.resourceCountIs('AWS::Lambda::Function', 4);
  });

  it('names every physical resource after its own path: nothing collides', () => {
    const machines = namesOf('AWS::StepFunctions::StateMachine', 'StateMachineName');
    const schedules = namesOf('AWS::Scheduler::Schedule', 'Name');
    const apis = namesOf('AWS::ApiGateway::RestApi', 'Name');
    expect(machines).toHaveLength(2);
    expect(new Set(machines).size).toBe(2);
    expect(new Set(schedules).size).toBe(2);
    expect(new Set(apis).size).toBe(2);
    expect(machines.join()).toMatch(/Host-Nightly-[0-9A-F]{8}-batches/);
    expect(first.serviceName).not.toBe(second.serviceName);
    // Each instance's functions log and measure under its own service name.
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: first.serviceName }) } },
      2,
    );
  });

  it('writes only under the prefix of a bucket it is given, and makes no bucket for it', () => {
    // The first instance's bucket and its access-log bucket; none for the second.
    template.resourceCountIs('AWS::S3::Bucket', 2);
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const text = JSON.stringify(policies);
    expect(text).toContain(':s3:::team-images/thumbs/*');
    expect(text).not.toContain(':s3:::team-images/*"');
    expect(text).not.toContain(':s3:::team-images/images/*');
  });

  it('grants a caller execute-api:Invoke on its API, and measures its own batches', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: 'execute-api:Invoke',
            Resource: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
          }),
        ],
      },
    });
    const stored = stack.resolve(first.metricImagesStored().toMetricConfig().metricStat);
    expect(stored).toMatchObject({
      namespace: 'PicsumBatch',
      metricName: 'ImagesStored',
      statistic: 'Sum',
      dimensions: [{ name: 'service', value: first.serviceName }],
    });
    expect(first.metricImagesFailed().metricName).toBe('ImagesFailed');
    expect(first.metricBatchDuration().statistic).toBe('p50');
    expect(second.metricImagesStored().dimensions).toEqual({ service: second.serviceName });
    expect(first.metricItemLatencyP99().statistic).toBe('Maximum');
    expect(first.metricEventsNotPut().metricName).toBe('BatchEventsFailed');
    expect(first.metricFailedImageRatio().expression).toBe('IF(stored + failed > 0, failed / (stored + failed), 0)');
  });

  it('grants a caller reading its objects under its key prefix, and nothing else of the bucket', () => {
    const [policy] = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Reader') }] },
      }),
    );
    const statements = stack.resolve(policy?.Properties.PolicyDocument.Statement) as {
      Action: string[];
      Resource: unknown[];
    }[];
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:List*']));
    expect(statements[0]?.Action.some((action) => /Put|Delete/.test(action))).toBe(false);
    expect(JSON.stringify(statements[0]?.Resource)).toContain('team-images/thumbs/*');
  });

  it('puts each batch event on its own bus, with its own source, and may put on that bus only', () => {
    expect(first.eventSource).toBe(`picsum-batch.${first.serviceName}`);
    expect(second.eventSource).not.toBe(first.eventSource);
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      {
        Environment: {
          Variables: Match.objectLike({ EVENT_SOURCE: second.eventSource, EVENT_BUS_NAME: 'team-events' }),
        },
      },
      2,
    );
    const puts = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[])
      .filter((statement) => statement.Action === 'events:PutEvents')
      .map((statement) => JSON.stringify(statement.Resource));
    expect(puts).toHaveLength(4);
    expect(puts.filter((resource) => resource.includes(':event-bus/team-events'))).toHaveLength(2);
    expect(puts.filter((resource) => resource.includes(':event-bus/default'))).toHaveLength(2);
  });

  it('draws a dashboard each and sends its alarms to its own topic, or the one it is given', () => {
    const dashboards = namesOf('AWS::CloudWatch::Dashboard', 'DashboardName');
    expect(dashboards).toEqual([first.serviceName, second.serviceName]);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties as { AlarmName: string; AlarmActions: unknown[] },
    );
    const ofSecond = alarms.filter((alarm) => alarm.AlarmName.startsWith(`${second.serviceName}-`));
    const ofFirst = alarms.filter((alarm) => alarm.AlarmName.startsWith(`${first.serviceName}-`));
    expect([ofFirst.length, ofSecond.length]).toEqual([14, 14]);
    for (const alarm of ofSecond)
      expect(alarm.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:team-alarms']);
    for (const alarm of ofFirst) expect(JSON.stringify(alarm.AlarmActions)).toMatch(/^\[\{"Ref":"NightlyAlarmTopic/);
    expect(new Set(alarms.map((alarm) => alarm.AlarmName)).size).toBe(28);
  });

  it('tags what it makes with its instance', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Tags: Match.arrayWith([{ Key: 'picsum-batch:instance', Value: second.serviceName }]),
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      Tags: Match.arrayWith([{ Key: 'picsum-batch:instance', Value: first.serviceName }]),
    });
    // eu-west-1 has tags on dashboards: the dashboard is tagged too.
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      Tags: Match.arrayWith([{ Key: 'picsum-batch:instance', Value: first.serviceName }]),
    });
  });

  // AWS's resource schemas give AWS::CloudWatch::Dashboard no Tags in these regions: a tagged
  // dashboard would fail the deploy there (cfn-lint E3002), so it is left untagged there only.
  it('leaves the dashboard untagged where the region has no dashboard tags (or may be one), and tags it elsewhere', () => {
    // Each in an app of its own: an app synthesizes once.
    const bound = (region: string) => {
      const app = new App({ context: CDK_JSON_CONTEXT });
      const stack = new Stack(app, `In-${region}`, { env: { account: '123456789012', region } });
      new PicsumBatch(stack, 'Images');
      return Template.fromStack(stack);
    };
    for (const region of DASHBOARD_UNTAGGED_REGIONS) {
      const [dashboard] = Object.values(bound(region).findResources('AWS::CloudWatch::Dashboard'));
      expect(dashboard?.Properties).not.toHaveProperty('Tags');
    }
    bound('us-east-1').hasResourceProperties('AWS::CloudWatch::Dashboard', {
      Tags: Match.arrayWith([Match.objectLike({ Key: 'picsum-batch:instance' })]),
    });

    // Region-agnostic: it may be deployed anywhere, so the dashboard is left untagged.
    const agnostic = new Stack(new App({ context: CDK_JSON_CONTEXT }), 'Anywhere');
    new PicsumBatch(agnostic, 'Images');
    const [dashboard] = Object.values(Template.fromStack(agnostic).findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard?.Properties).not.toHaveProperty('Tags');
  }, 180_000);
});

describe('PicsumBatch in an app without this project’s cdk.json', () => {
  // An app with no feature flags at all (an older app, or one made without cdk init): the
  // construct must synthesize there with the posture it has in a current one.
  it('synthesizes with no feature flag set: access logs by bucket policy, TLS only, no public access, nothing for cdk-nag', () => {
    const plainOut = mkdtempSync(join(tmpdir(), 'picsum-plain-'));
    try {
      const app = new App({ outdir: plainOut });
      const plain = new Stack(app, 'Plain', { env: { account: '123456789012', region: 'eu-west-1' } });
      new PicsumBatch(plain, 'Images');
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
      const assembly = app.synth();
      const report = JSON.parse(readFileSync(join(plainOut, 'validation-report.json'), 'utf8')) as {
        pluginReports: { violations?: unknown[] }[];
      };
      expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);

      const synthesized = Template.fromJSON(assembly.getStackByName('Plain').template);
      for (const each of [synthesized, template]) {
        const buckets = Object.values(each.findResources('AWS::S3::Bucket')).map(
          (bucket) => bucket.Properties as Record<string, unknown>,
        );
        for (const bucket of buckets) {
          expect(bucket.PublicAccessBlockConfiguration).toEqual({
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          });
          expect(bucket.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
          expect(bucket).not.toHaveProperty('AccessControl');
        }
        expect(buckets.filter((bucket) => bucket.LoggingConfiguration)).toHaveLength(1);
        // The log bucket lets S3's log delivery write, by its policy.
        each.hasResourceProperties('AWS::S3::BucketPolicy', {
          PolicyDocument: Match.objectLike({
            Statement: Match.arrayWith([
              Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' }),
            ]),
          }),
        });
        // Every bucket refuses plain HTTP.
        const tlsOnly = Object.values(each.findResources('AWS::S3::BucketPolicy')).filter((policy) =>
          JSON.stringify(policy).includes('"aws:SecureTransport":"false"'),
        );
        expect(tlsOnly.length).toBeGreaterThanOrEqual(2);
      }
    } finally {
      rmSync(plainOut, { recursive: true, force: true });
    }
  }, 180_000);
});

describe("PicsumBatch's props in CDK's types", () => {
  it('takes Size, Duration, RetentionDays, a schedule and an authorization type, checked as the context is', () => {
    const app = new App({ context: CDK_JSON_CONTEXT });
    const typed = new Stack(app, 'Typed', { env: { account: '123456789012', region: 'eu-west-1' } });
    const images = new PicsumBatch(typed, 'Images', {
      memorySize: Size.gibibytes(2),
      timeout: Duration.minutes(10),
      logRetention: RetentionDays.THREE_MONTHS,
      imageExpiry: Duration.days(7),
      schedule: ScheduleExpression.rate(Duration.hours(6)),
      healDelay: Duration.minutes(30),
      authorizationType: AuthorizationType.IAM,
    });
    expect(images.settings).toMatchObject({
      memoryMb: 2048,
      timeoutSeconds: 600,
      logRetentionDays: 90,
      expireDays: 7,
      scheduleExpression: 'rate(6 hours)',
      healDelaySeconds: 1800,
      auth: 'iam',
    });
    const synthesized = Template.fromStack(typed);
    synthesized.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 2048, Timeout: 600 });
    synthesized.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(6 hours)' });
    synthesized.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });

    // Out of range, as a context value would be: refused at synth, naming the setting.
    expect(() => new PicsumBatch(typed, 'Huge', { memorySize: Size.gibibytes(20) })).toThrow(/`memoryMb`/);
    expect(() => new PicsumBatch(typed, 'Short', { timeout: Duration.seconds(5) })).toThrow(/`timeoutSeconds`/);
  }, 180_000);
});
