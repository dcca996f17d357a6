import { createHash, randomUUID } from 'node:crypto';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CATALOG } from '../../lambda/emulators/picsum/catalog.js';
import type { Fault, RequestInfo } from '../../lambda/emulators/picsum/offline-picsum.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { BatchRecords } from '../../lambda/function/orchestration/batch-records.js';
import type { BatchPlan } from '../../lambda/function/orchestration/chunked/index.js';
import { requestHash } from '../../lambda/function/orchestration/idempotency.js';
import { idempotencyKey } from '../../lambda/function/storage/keys.js';
import { putJson } from '../../lambda/function/storage/objects.js';
import { type Harness, startHarness, TEST_S3_CREDENTIALS } from '../support/harness.js';
import { startSigV4Server } from '../support/sigv4-server.js';
import { startStepFunctions } from '../support/step-functions.js';

// Each handler reads its environment once at import, as in Lambda: set it first, then import.
let harness: Harness;
let states: Awaited<ReturnType<typeof startStepFunctions>>;
let events: Awaited<ReturnType<typeof startSigV4Server>>;
type Handler = (event: unknown, context: Context) => Promise<unknown>;
let handlers: Record<'api' | 'workflow', Handler>;
/** Sends an event to the function that receives it when deployed: the API's, or the workflow's (the state machine's steps). */
const handler = (event: unknown, context: Context) => {
  const loose = event as { httpMethod?: unknown };
  return (loose?.httpMethod !== undefined ? handlers.api : handlers.workflow)(event, context);
};

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:picsum-batch-batches';

// How the EventBridge stand-in answers; a test may make it refuse.
const put = (res: import('node:http').ServerResponse) =>
  res
    .writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
    .end('{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}');
let eventsAnswers = put;
afterEach(() => {
  eventsAnswers = put;
  states.refuseWith(undefined);
});

/** Step Functions refusing every StartExecution with `errorType` (429 for throttling, 400 otherwise). */
const refusingStarts =
  (errorType: string) => (request: { headers: Record<string, unknown> }, res: import('node:http').ServerResponse) => {
    if (request.headers['x-amz-target'] !== 'AWSStepFunctions.StartExecution') return false;
    res
      .writeHead(errorType === 'ThrottlingException' ? 429 : 400, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-errortype': errorType,
      })
      .end(JSON.stringify({ __type: errorType, message: `refused: ${errorType}` }));
    return true;
  };

// Source faults a test turns on for a while (the harness's picsum server asks for each request).
let faults: ((request: RequestInfo) => Fault | undefined) | undefined;
afterEach(() => {
  faults = undefined;
});

beforeAll(async () => {
  harness = await startHarness({ picsum: { faults: (request) => faults?.(request) } });
  // Stand-ins for the Step Functions and EventBridge APIs that check every request's SigV4
  // signature. The function signs with its role's credentials, here the same ones the embedded S3 accepts.
  const credentials = TEST_S3_CREDENTIALS;
  // The state machine runs its own definition, each task invoking the workflow function's handler.
  states = await startStepFunctions({
    region: 'us-east-1',
    credentials,
    invokeStep: (payload) => handlers.workflow(payload, context),
  });
  vi.stubEnv('AWS_ENDPOINT_URL_SFN', states.url);
  events = await startSigV4Server('events', 'us-east-1', (_request, res) => eventsAnswers(res), credentials);
  vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', events.url);
  vi.stubEnv('EVENT_SOURCE', 'picsum-batch.test');
  vi.stubEnv('EVENT_BUS_NAME', 'batches-bus');
  vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE_ARN);
  vi.stubEnv('SYNC_MAX_COUNT', '5');
  vi.stubEnv('CHUNK_SIZE', '10');
  vi.stubEnv('MAX_COUNT', '5000');
  vi.stubEnv('BUCKET_NAME', harness.config.bucket);
  vi.stubEnv('S3_ENDPOINT', harness.s3server.endpoint);
  vi.stubEnv('PICSUM_BASE_URL', harness.picsum.baseUrl);
  vi.stubEnv('PICSUM_REDIRECT_HOSTS', harness.picsum.imageHost);
  vi.stubEnv('AWS_ACCESS_KEY_ID', TEST_S3_CREDENTIALS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', TEST_S3_CREDENTIALS.secretAccessKey);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  handlers = {
    api: (await import('../../lambda/function/handlers/api.js')).handler,
    workflow: (await import('../../lambda/function/handlers/workflow.js')).handler,
  };
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await states?.close();
  await harness?.close();
  await events?.close();
});

/**
 * What EventBridge Scheduler does with its payload: StartExecution of the batch state machine, with
 * a name of its own (Scheduler cannot name one). Resolves once that execution and the batch's own
 * (named after the batch) have ended.
 */
async function scheduleDelivers(envelope: object, batchId: string) {
  const client = new SFNClient({ region: 'us-east-1', endpoint: states.url, credentials: TEST_S3_CREDENTIALS });
  const name = `scheduler-${randomUUID()}`;
  await client.send(
    new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name, input: JSON.stringify(envelope) }),
  );
  client.destroy();
  const delivered = await states.engine.finished(name);
  const batch = await states.engine.finished(batchId);
  return { delivered, batch };
}

/** The batch's status as GET answers it. */
async function statusOf(batchId: string) {
  const response = (await handler(get(`/batches/${batchId}`), context)) as APIGatewayProxyResult;
  return { statusCode: response.statusCode, body: JSON.parse(response.body) };
}

/** Image downloads of the offline picsum server since `from`. */
const imagesFetchedSince = (from: number) =>
  harness.picsum.requests.slice(from).filter((request) => request.hop === 'image').length;

/** The batch events put since `from`, as EventBridge received them: one entry each, signed. */
function eventsPut(from: number) {
  return events.seen.slice(from).map((call) => {
    expect(call.signatureValid).toBe(true);
    expect(call.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
    const { Entries } = JSON.parse(call.body) as {
      Entries: { Source: string; DetailType: string; Detail: string; EventBusName: string }[];
    };
    expect(Entries).toHaveLength(1);
    const [entry] = Entries;
    return { ...entry, Detail: JSON.parse(entry?.Detail ?? '{}') };
  });
}

describe('batch events on EventBridge', () => {
  it('puts one Batch Done event for a batch answered synchronously, with its counts and keys', async () => {
    const from = events.seen.length;
    const response = (await handler(post({ count: 2, width: 8 }), context)) as APIGatewayProxyResult;
    const result = JSON.parse(response.body);
    expect(eventsPut(from)).toEqual([
      {
        EventBusName: 'batches-bus',
        Source: 'picsum-batch.test',
        DetailType: 'Batch Done',
        Detail: {
          batchId: result.batchId,
          status: 'done',
          requested: 2,
          succeeded: 2,
          failed: 0,
          failureCounts: {},
          elapsedMs: result.elapsedMs,
          bucket: harness.config.bucket,
          manifestKey: `images/${result.batchId}/manifest.json`,
          reportKey: `images/${result.batchId}/report.html`,
          retries: 0,
        },
      },
    ]);
  });

  it('puts one for a batch run on the state machine, at its aggregate', async () => {
    const from = events.seen.length;
    const accepted = (await handler(post({ count: 8, width: 8 }), context)) as APIGatewayProxyResult;
    const { batchId } = JSON.parse(accepted.body);
    await states.engine.finished(batchId);
    expect(eventsPut(from).map((event) => [event.DetailType, event.Detail.batchId])).toEqual([['Batch Done', batchId]]);
  });

  it('puts one for a chunked batch, at its aggregate, and none for a step delivered again', async () => {
    const job = { batchId: 'evented-chunks', request: parseRequest({ count: 12, width: 8 }, harness.config) };
    const from = events.seen.length;
    const plan = (await handler({ kind: 'picsum-batch.plan', job, execution: 'evented-chunks' }, context)) as BatchPlan;
    for (const chunk of plan.chunks) {
      await handler(
        {
          kind: 'picsum-batch.chunk',
          task: { ...job, concurrency: plan.concurrency, startedAt: plan.startedAt, chunk },
        },
        context,
      );
    }
    expect(eventsPut(from)).toEqual([]);
    await handler({ kind: 'picsum-batch.aggregate', plan }, context);
    await handler({ kind: 'picsum-batch.aggregate', plan }, context);
    expect(eventsPut(from).map((event) => [event.DetailType, event.Detail.succeeded])).toEqual([['Batch Done', 12]]);
  });

  it('puts one for each retry run, with its retries counted', async () => {
    // Every image fails while the first run lasts (attempts are counted per path over the whole file).
    faults = (request) => (request.hop === 'image' ? { kind: 'status', status: 500 } : undefined);
    const first = JSON.parse(
      ((await handler(post({ count: 1, width: 8, ids: ['3'] }), context)) as APIGatewayProxyResult).body,
    );
    faults = undefined;
    const from = events.seen.length;
    await handler(
      {
        httpMethod: 'POST',
        path: `/batches/${first.batchId}/retry`,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      },
      context,
    );
    expect(eventsPut(from).map((event) => [event.DetailType, event.Detail.retries, event.Detail.succeeded])).toEqual([
      ['Batch Done', 1, 1],
    ]);
  });

  it('puts Batch Failed when the state machine gives a batch up, once', async () => {
    const from = events.seen.length;
    const failed = {
      kind: 'picsum-batch.failed',
      batchId: 'evented-failure',
      requested: 40,
      failure: { Error: 'Lambda.Unknown', Cause: 'The plan step died' },
    };
    await handler(failed, context);
    await handler(failed, context);
    expect(eventsPut(from)).toMatchObject([
      {
        DetailType: 'Batch Failed',
        Detail: {
          batchId: 'evented-failure',
          status: 'failed',
          requested: 40,
          manifestKey: null,
          reportKey: null,
          elapsedMs: null,
          error: 'Lambda.Unknown',
          cause: 'The plan step died',
        },
      },
    ]);
  });

  it('never fails a batch over its event: EventBridge refusing it leaves the answer as it was', async () => {
    eventsAnswers = (res) =>
      res
        .writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
        .end('{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"try later"}]}');
    const refused = (await handler(post({ count: 1, width: 8 }), context)) as APIGatewayProxyResult;
    eventsAnswers = (res) => res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' }).end('{}');
    const unreachable = (await handler(post({ count: 1, width: 8 }), context)) as APIGatewayProxyResult;
    expect([refused.statusCode, unreachable.statusCode]).toEqual([200, 200]);
    expect(JSON.parse(unreachable.body)).toMatchObject({ succeeded: 1 });
  });
});

const post = (body: object) =>
  ({
    httpMethod: 'POST',
    path: '/batches',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEvent;
/**
 * An Idempotency-Key bound two minutes ago to `batchId` for `body`, by a request that then wrote
 * nothing: its invocation died at once.
 */
async function bindKeyLongAgo(key: string, batchId: string, body: object) {
  const keyHash = createHash('sha256').update(key).digest('hex');
  await putJson(harness.s3, harness.config, idempotencyKey(harness.config, keyHash), {
    version: 1,
    batchId,
    requestHash: requestHash(parseRequest(body, harness.config)),
    createdAt: new Date(Date.now() - 120_000).toISOString(),
  });
}

const get = (path: string) => ({ httpMethod: 'GET', path, headers: {} }) as unknown as APIGatewayProxyEvent;

describe('the functions, one per trigger', () => {
  it('each refuses the events of the other, naming what arrived, and starts nothing', async () => {
    const before = await harness.keys();
    const run = { kind: 'picsum-batch.run', request: { count: 1, width: 8 } };
    const job = { kind: 'picsum-batch.job', job: { batchId: 'not-here', request: { count: 1 } } };
    const heal = { kind: 'picsum-batch.heal', batchId: 'not-here' };
    const startsBefore = states.seen.length;
    await expect(handlers.api(run, context)).rejects.toThrow(/^Refused an event of kind "picsum-batch.run" with keys/);
    await expect(handlers.api(heal, context)).rejects.toMatchObject({ code: 'UNRECOGNIZED_EVENT' });
    await expect(handlers.workflow(job, context)).rejects.toThrow(/answers only the batch state machine's steps/);
    await expect(handlers.workflow(get('/batches'), context)).rejects.toMatchObject({ code: 'UNRECOGNIZED_EVENT' });
    expect(await harness.keys()).toEqual(before);
    expect(states.seen.length).toBe(startsBefore);
  });
});

describe('the Lambda handlers', () => {
  it('answers an API Gateway proxy event with the batch result', async () => {
    const event = {
      httpMethod: 'POST',
      path: '/batches',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ count: 2, width: 16 }),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEvent;

    const response = (await handler(event, context)) as { statusCode: number; body: string };

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ requested: 2, succeeded: 2 });
  });

  it("runs the schedule's payload on the state machine, as an execution named after its schedule name and time", async () => {
    const envelope = {
      kind: 'picsum-batch.run',
      request: { count: 2, width: 16 },
      scheduleName: 'nightly',
      scheduledTime: '2026-11-25T03:00:00Z',
    };

    const { delivered, batch } = await scheduleDelivers(envelope, 'nightly-20261125T030000Z');

    expect([delivered.status, batch.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect((await statusOf('nightly-20261125T030000Z')).body).toMatchObject({
      status: 'done',
      result: { requested: 2, succeeded: 2 },
    });
    expect(await harness.keys()).toContain('images/nightly-20261125T030000Z/manifest.json');
  });

  it('does not run a redelivered schedule payload again, small or over CHUNK_SIZE: same batch, same objects', async () => {
    for (const [count, time] of [
      [2, '2026-11-25T04:00:00Z'],
      [30, '2026-11-25T05:00:00Z'],
    ] as const) {
      const envelope = {
        kind: 'picsum-batch.run',
        request: { count, width: 8 },
        scheduleName: 'again',
        scheduledTime: time,
      };
      const batchId = `again-${time.replace(/[-:]/g, '')}`;
      await scheduleDelivers(envelope, batchId);
      const keysAfterFirst = await harness.keys();
      const requestsAfterFirst = harness.picsum.requests.length;

      const second = await scheduleDelivers(envelope, batchId);

      // The second delivery's execution finds the batch's own started already, and starts nothing.
      expect(second.delivered.status).toBe('SUCCEEDED');
      expect(await harness.keys()).toEqual(keysAfterFirst);
      expect(harness.picsum.requests).toHaveLength(requestsAfterFirst);
      expect((await statusOf(batchId)).body).toMatchObject({ status: 'done', result: { succeeded: count } });
    }
  });

  it('heals a scheduled batch left with failed items once, in its own execution: it waits, claims a retry and runs it', async () => {
    const batchId = 'heal-20261125T060000Z';
    const ids = CATALOG.slice(0, 6).map((entry) => entry.id);
    const request = { ids, width: 16 };
    // The first two photos are refused once each (404: not retried within a run).
    faults = (r) =>
      r.hop === 'base' && ids.slice(0, 2).includes(r.photo ?? '') && r.attempt === 1
        ? { kind: 'status', status: 404 }
        : undefined;

    const { batch } = await scheduleDelivers(
      { kind: 'picsum-batch.run', request, scheduleName: 'heal', scheduledTime: '2026-11-25T06:00:00Z' },
      batchId,
    );

    expect(batch.status).toBe('SUCCEEDED');
    const healed = (await statusOf(batchId)).body;
    expect(healed).toMatchObject({ status: 'done', result: { requested: 6, succeeded: 6, failed: 0, retries: 1 } });
    // One execution did it all: no other was started for the batch.
    expect(states.engine.names().filter((name) => name.startsWith(batchId))).toEqual([batchId]);
  });

  it('does not heal a run the schedule did not start (no schedule name and time)', async () => {
    const ids = CATALOG.slice(6, 9).map((entry) => entry.id);
    faults = (r) => (r.hop === 'base' && r.photo === ids[0] ? { kind: 'status', status: 404 } : undefined);
    const client = new SFNClient({ region: 'us-east-1', endpoint: states.url, credentials: TEST_S3_CREDENTIALS });
    const name = `direct-${randomUUID()}`;
    await client.send(
      new StartExecutionCommand({
        stateMachineArn: STATE_MACHINE_ARN,
        name,
        input: JSON.stringify({ kind: 'picsum-batch.run', request: { ids, width: 16 } }),
      }),
    );
    client.destroy();
    await states.engine.finished(name);
    const batchId = states.engine.names().at(-1) ?? '';
    expect(batchId).not.toBe(name);
    await states.engine.finished(batchId);

    expect((await statusOf(batchId)).body).toMatchObject({ status: 'done', result: { failed: 1, retries: 0 } });
  });

  it('starts a batch over SYNC_MAX_COUNT on the state machine, named after it, and one over CHUNK_SIZE in chunks', async () => {
    const small = (await handler(post({ count: 8, width: 8 }), context)) as { statusCode: number; body: string };
    const large = (await handler(post({ count: 40, width: 8 }), context)) as { statusCode: number; body: string };

    expect([small.statusCode, large.statusCode]).toEqual([202, 202]);
    const [smallId, largeId] = [JSON.parse(small.body).batchId, JSON.parse(large.body).batchId];
    const started = states.seen.filter((call) => call.headers['x-amz-target'] === 'AWSStepFunctions.StartExecution');
    const names = started.map((call) => JSON.parse(call.body).name);
    expect(names).toEqual(expect.arrayContaining([smallId, largeId]));
    const call = started.find((each) => JSON.parse(each.body).name === largeId);
    expect(call?.signatureValid).toBe(true);
    expect(JSON.parse(JSON.parse(call?.body ?? '{}').input)).toMatchObject({
      batchId: largeId,
      request: { count: 40 },
    });
    expect(JSON.parse(call?.body ?? '{}').stateMachineArn).toBe(STATE_MACHINE_ARN);
    await states.engine.finished(smallId);
    await states.engine.finished(largeId);
    expect((await statusOf(smallId)).body).toMatchObject({ status: 'done', result: { succeeded: 8 } });
    expect((await statusOf(largeId)).body).toMatchObject({ status: 'done', result: { succeeded: 40 } });
    // Where to watch it, as the caller addresses the API: with its stage.
    const staged = (await handler(
      { ...post({ count: 8, width: 8 }), requestContext: { path: '/v1/batches' } } as APIGatewayProxyEvent,
      context,
    )) as APIGatewayProxyResult;
    const { batchId } = JSON.parse(staged.body);
    expect(staged.headers).toMatchObject({ location: `/v1/batches/${batchId}` });
    expect(JSON.parse(staged.body).statusUrl).toBe(`/batches/${batchId}`);
    await states.engine.finished(batchId);
  });

  it('answers a batch from its execution: accepted, running with its chunks, then done', async () => {
    const planned = states.hold('picsum-batch.plan');
    const aggregated = states.hold('picsum-batch.aggregate');
    const accepted = (await handler(post({ count: 20, width: 8 }), context)) as APIGatewayProxyResult;
    const { batchId } = JSON.parse(accepted.body);

    await planned.reached;
    const beforePlan = await statusOf(batchId);
    planned.release();
    await aggregated.reached;
    const beforeAggregate = await statusOf(batchId);
    aggregated.release();
    await states.engine.finished(batchId);
    const after = await statusOf(batchId);

    expect(JSON.parse(accepted.body)).toMatchObject({ status: 'accepted' });
    expect(beforePlan.body).toMatchObject({ batchId, status: 'accepted', requested: 20 });
    expect(beforeAggregate.body).toMatchObject({
      batchId,
      status: 'running',
      execution: batchId,
      done: 20,
      succeeded: 20,
      chunks: { total: 2, done: 2 },
    });
    expect(after.body).toMatchObject({ status: 'done', result: { succeeded: 20 } });
  });

  it('answers a batch whose execution failed as failed, with its error, even when nothing recorded it', async () => {
    // The plan fails, and so does the step that records the failure: only the engine knows.
    states.failSteps('picsum-batch.plan', 'picsum-batch.failed');
    const accepted = (await handler(post({ count: 8, width: 8 }), context)) as APIGatewayProxyResult;
    const { batchId } = JSON.parse(accepted.body);
    const end = await states.engine.finished(batchId);
    states.failSteps();

    expect(end.status).toBe('FAILED');
    expect((await statusOf(batchId)).body).toMatchObject({ batchId, status: 'failed', error: 'Lambda.Unknown' });
    expect(await harness.keys(`images/${batchId}/`)).toEqual([]);
  });

  it('answers a planned batch whose execution stopped as failed, not running', async () => {
    // The aggregate fails for good, and the step that records it too: the plan's record says running.
    states.failSteps('picsum-batch.aggregate', 'picsum-batch.failed');
    const accepted = (await handler(post({ count: 8, width: 8 }), context)) as APIGatewayProxyResult;
    const { batchId } = JSON.parse(accepted.body);
    await states.engine.finished(batchId);
    states.failSteps();

    const record = JSON.parse((await harness.object(`images/${batchId}/status.json`)).bytes.toString());
    expect(record).toMatchObject({ status: 'running', execution: batchId });
    expect((await statusOf(batchId)).body).toMatchObject({ batchId, status: 'failed', error: 'Lambda.Unknown' });
  });

  it('runs the state machine steps it is sent: plan, a chunk, aggregate', async () => {
    const job = { batchId: 'steps', request: parseRequest({ count: 25, width: 8, concurrency: 4 }, harness.config) };

    const plan = (await handler({ kind: 'picsum-batch.plan', job, execution: 'steps' }, context)) as BatchPlan;
    for (const chunk of plan.chunks) {
      const task = { ...job, concurrency: plan.concurrency, startedAt: plan.startedAt, chunk };
      await handler({ kind: 'picsum-batch.chunk', task }, context);
    }
    const summary = await handler({ kind: 'picsum-batch.aggregate', plan }, context);

    expect(plan.chunks).toHaveLength(3);
    expect(summary).toEqual({
      batchId: 'steps',
      requested: 25,
      succeeded: 25,
      failed: 0,
      elapsedMs: expect.any(Number),
      manifestKey: 'images/steps/manifest.json',
      missingChunks: [],
    });
  });

  it.each([
    ['an empty event', {}],
    ['an S3 notification', { Records: [{ eventSource: 'aws:s3', s3: { object: { key: 'images/x.jpg' } } }] }],
    ['an SQS message', { Records: [{ eventSource: 'aws:sqs', body: '{"count":3}' }] }],
    ['an EventBridge rule event', { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }],
    ['a bare request', { count: 3 }],
    ['an unknown kind', { kind: 'picsum-batch.other', request: {} }],
  ])('refuses %s, naming what arrived, and starts nothing', async (_name, event) => {
    const keysBefore = await harness.keys();
    const fetchedBefore = harness.picsum.requests.length;
    const launchesBefore = states.seen.length;

    await expect(handler(event, context)).rejects.toMatchObject({
      name: 'UnrecognizedEventError',
      message: expect.stringMatching(/^Refused an? /),
    });

    expect(await harness.keys()).toEqual(keysBefore);
    expect(harness.picsum.requests).toHaveLength(fetchedBefore);
    expect(states.seen.length).toBe(launchesBefore);
  });

  const validRequest = {
    count: 2,
    width: 8,
    height: 8,
    concurrency: 2,
    grayscale: false,
    format: 'jpg',
    distinct: false,
  };
  it.each([
    [
      'a plan whose batch id climbs out of its folder',
      { kind: 'picsum-batch.plan', job: { batchId: 'zz/../../../escape-job', request: validRequest }, execution: 'e' },
      /`event.job.batchId`/,
    ],
    [
      'a plan whose batch id escapes the key prefix',
      { kind: 'picsum-batch.plan', job: { batchId: '../plan-escape', request: validRequest }, execution: 'e' },
      /`event.job.batchId`/,
    ],
    [
      'a plan of -5 images',
      { kind: 'picsum-batch.plan', job: { batchId: 'neg', request: { ...validRequest, count: -5 } }, execution: 'neg' },
      /`count`/,
    ],
    [
      'a plan whose width is a path',
      {
        kind: 'picsum-batch.plan',
        job: { batchId: 'path', request: { ...validRequest, width: '../../v2/list?page=1#' } },
        execution: 'path',
      },
      /`width`/,
    ],
    [
      'a plan with an unknown request field',
      { kind: 'picsum-batch.plan', job: { batchId: 'extra', request: { ...validRequest, url: 'x' } }, execution: 'x' },
      /`url`/,
    ],
    [
      'a retry of more items than its batch',
      {
        kind: 'picsum-batch.plan',
        job: { batchId: 'r', request: validRequest, retry: { run: 1, items: 3 } },
        execution: 'r-retry-1',
      },
      /retry.items/,
    ],
    [
      'a chunk past the end of its batch',
      {
        kind: 'picsum-batch.chunk',
        task: {
          batchId: 'c',
          request: validRequest,
          concurrency: 2,
          startedAt: '2026-12-02T00:00:00Z',
          chunk: { chunk: 0, start: 0, end: 3 },
        },
      },
      /not within the 2 items/,
    ],
    [
      'an aggregate of no chunks',
      {
        kind: 'picsum-batch.aggregate',
        plan: {
          batchId: 'a',
          request: validRequest,
          concurrency: 2,
          parallelChunks: 1,
          startedAt: '2026-12-02T00:00:00Z',
          chunks: [],
        },
      },
      /`event.plan.chunks`/,
    ],
    [
      'a failure record for a forged batch id',
      { kind: 'picsum-batch.failed', batchId: 'a/b', requested: 1, failure: {} },
      /`event.batchId`/,
    ],
    ['a heal of a forged batch id', { kind: 'picsum-batch.heal', batchId: '..' }, /`event.batchId`/],
    [
      'a plan naming an execution that is not a name',
      { kind: 'picsum-batch.plan', job: { batchId: 'x', request: validRequest }, execution: '../x' },
      /`event.execution`/,
    ],
    ['a schedule payload with a bad request', { kind: 'picsum-batch.run', request: { count: -1 } }, /`count`/],
  ])('refuses %s, naming what failed, and reads, writes and fetches nothing', async (_name, event, why) => {
    const keysBefore = await harness.keys();
    const fetchedBefore = harness.picsum.requests.length;

    await expect(handler(event, context)).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: expect.stringMatching(why),
    });

    expect(await harness.keys()).toEqual(keysBefore);
    expect(harness.picsum.requests).toHaveLength(fetchedBefore);
  });

  it('refuses a chunk and an aggregate for a finished batch: its manifest and images stay as they were', async () => {
    const done = JSON.parse(((await handler(post({ count: 2, width: 8 }), context)) as APIGatewayProxyResult).body);
    const manifestBefore = (await harness.object(done.manifestKey)).bytes;
    const keysBefore = await harness.keys();
    const startedAt = new Date().toISOString();
    const chunk = { chunk: 0, start: 0, end: 2 };
    const request = { ...validRequest, width: 9, height: 9 };

    const forgedChunk = handler(
      { kind: 'picsum-batch.chunk', task: { batchId: done.batchId, request, concurrency: 2, startedAt, chunk } },
      context,
    );
    await expect(forgedChunk).rejects.toMatchObject({ name: 'NotPlannedError' });
    const plan = { batchId: done.batchId, request, concurrency: 2, parallelChunks: 1, startedAt, chunks: [chunk] };
    await expect(handler({ kind: 'picsum-batch.aggregate', plan }, context)).rejects.toMatchObject({
      name: 'NotPlannedError',
    });

    expect((await harness.object(done.manifestKey)).bytes).toEqual(manifestBefore);
    expect(await harness.keys()).toEqual(keysBefore);
  });

  it('names the source of a stray notification in its refusal', async () => {
    const s3Event = { Records: [{ eventSource: 'aws:s3', s3: {} }] };
    await expect(handler(s3Event, context)).rejects.toThrow(/1 record\(s\) from aws:s3/);
  });

  it('answers 503 with Retry-After when starting stays throttled, records nothing, and starts it on the repeat', async () => {
    states.refuseWith(refusingStarts('ThrottlingException'));
    const request = {
      ...post({ count: 8, width: 8 }),
      headers: { 'content-type': 'application/json', 'idempotency-key': 'throttled-1' },
    };
    const triesBefore = states.seen.length;

    const refused = (await handler(request, context)) as APIGatewayProxyResult;

    expect(refused.statusCode).toBe(503);
    expect(refused.headers?.['retry-after']).toMatch(/^\d+$/);
    const { batchId, error } = JSON.parse(refused.body);
    expect(error.code).toBe('LAUNCH_FAILED');
    expect(states.seen.length - triesBefore).toBeGreaterThan(1);
    expect((await statusOf(batchId)).statusCode).toBe(404);
    expect(await harness.keys(`images/${batchId}/`)).toEqual([]);

    states.refuseWith(undefined);
    const repeated = (await handler(request, context)) as APIGatewayProxyResult;

    expect(repeated.statusCode).toBe(202);
    expect(JSON.parse(repeated.body)).toMatchObject({ batchId, status: 'accepted' });
    await states.engine.finished(batchId);
    expect((await statusOf(batchId)).body).toMatchObject({ batchId, status: 'done', result: { succeeded: 8 } });
    // The SDK backs off between its tries of a throttled start: seconds of waiting, not a timing assertion.
  }, 30_000);

  it('starts a batch whose start failed once, however many repeats race, and answers every one', async () => {
    states.refuseWith(refusingStarts('ThrottlingException'));
    // Eight different photos: random picks from the catalog may repeat one, which is then copied, not fetched.
    const request = {
      ...post({ count: 8, width: 8, distinct: true }),
      headers: { 'content-type': 'application/json', 'idempotency-key': 'racing-restart' },
    };
    const refused = (await handler(request, context)) as APIGatewayProxyResult;
    const { batchId } = JSON.parse(refused.body);
    states.refuseWith(undefined);
    const fetched = harness.picsum.requests.length;

    const repeats = (await Promise.all(
      Array.from({ length: 20 }, () => handler(request, context)),
    )) as APIGatewayProxyResult[];
    await states.engine.finished(batchId);

    expect(repeats.map((answer) => answer.statusCode)).toEqual(Array(20).fill(202));
    for (const answer of repeats) expect(JSON.parse(answer.body)).toMatchObject({ batchId });
    // One execution ran it: each image fetched once.
    expect(imagesFetchedSince(fetched)).toBe(8);
    // The SDK backs off between its tries of a throttled start: seconds of waiting, not a timing assertion.
  }, 30_000);

  it('starts a batch whose request died before recording anything once, however many repeats race after it', async () => {
    // Eight different photos, so that each download is one image (a repeated photo would be copied).
    await bindKeyLongAgo('racing-unrecorded', 'unrecorded-race', { count: 8, width: 8, distinct: true });
    const repeat = {
      ...post({ count: 8, width: 8, distinct: true }),
      headers: { 'content-type': 'application/json', 'idempotency-key': 'racing-unrecorded' },
    };
    const fetched = harness.picsum.requests.length;

    const repeats = (await Promise.all(
      Array.from({ length: 20 }, () => handler(repeat, context)),
    )) as APIGatewayProxyResult[];
    await states.engine.finished('unrecorded-race');

    expect(repeats.map((answer) => answer.statusCode)).toEqual(Array(20).fill(202));
    expect(imagesFetchedSince(fetched)).toBe(8);
  });

  it('never answers 2xx for a start that failed, without an Idempotency-Key either, and records nothing', async () => {
    states.refuseWith(refusingStarts('StateMachineDoesNotExist'));

    const refused = (await handler(post({ count: 40, width: 8 }), context)) as APIGatewayProxyResult;

    expect(refused.statusCode).toBe(503);
    const { batchId } = JSON.parse(refused.body);
    expect((await statusOf(batchId)).statusCode).toBe(404);
  });

  it('answers a synchronous batch whose request died as unfinished, and a repeat finishes it on the state machine', async () => {
    await bindKeyLongAgo('died-1', 'died-batch', { count: 2, width: 8 });
    // What a synchronous run leaves when its invocation dies: a run record with its request, no manifest.
    const request = parseRequest({ count: 2, width: 8 }, harness.config);
    await new BatchRecords(harness).putStatus({
      batchId: 'died-batch',
      status: 'running',
      requested: 2,
      done: 1,
      succeeded: 1,
      failed: 0,
      request,
      startedAt: new Date(Date.now() - 120_000).toISOString(),
    });

    const status = await statusOf('died-batch');
    const repeated = (await handler(
      { ...post({ count: 2, width: 8 }), headers: { 'content-type': 'application/json', 'idempotency-key': 'died-1' } },
      context,
    )) as APIGatewayProxyResult;
    await states.engine.finished('died-batch');

    expect(status.body).toMatchObject({ batchId: 'died-batch', status: 'unfinished', requested: 2 });
    expect(repeated.statusCode).toBe(202);
    expect((await statusOf('died-batch')).body).toMatchObject({ status: 'done', result: { succeeded: 2 } });
  });

  it('asks a repeat to come back while the first request may still be running its batch', async () => {
    const request = parseRequest({ count: 2, width: 8 }, harness.config);
    const keyHash = createHash('sha256').update('in-flight').digest('hex');
    await putJson(harness.s3, harness.config, idempotencyKey(harness.config, keyHash), {
      version: 1,
      batchId: 'in-flight-batch',
      requestHash: requestHash(request),
      createdAt: new Date().toISOString(),
    });

    const repeated = (await handler(
      {
        ...post({ count: 2, width: 8 }),
        headers: { 'content-type': 'application/json', 'idempotency-key': 'in-flight' },
      },
      context,
    )) as APIGatewayProxyResult;

    expect(repeated.statusCode).toBe(409);
    expect(JSON.parse(repeated.body).error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect(await harness.keys('images/in-flight-batch/')).toEqual([]);
  });

  it('records a synchronous batch as running with its request, and no expiry, beside its first images', async () => {
    const response = (await handler(post({ count: 2, width: 8 }), context)) as APIGatewayProxyResult;
    const { batchId } = JSON.parse(response.body);

    // The manifest marks it done; the run record it wrote while running stays beside it.
    const record = JSON.parse((await harness.object(`images/${batchId}/status.json`)).bytes.toString());

    expect(record).toMatchObject({ batchId, status: 'running', requested: 2, request: { count: 2, width: 8 } });
    expect(record).not.toHaveProperty('expiresAt');
    expect(record).not.toHaveProperty('execution');
    expect((await statusOf(batchId)).body).toMatchObject({ status: 'done' });
  });

  it('refuses a batch id with dots, as API Gateway would pass it, before reading anything', async () => {
    for (const batchId of ['..', '.', '../images']) {
      const event = { ...get(`/batches/${encodeURIComponent(batchId)}`), pathParameters: { batchId } };
      const response = (await handler(event, context)) as APIGatewayProxyResult;
      expect(response.statusCode).toBe(400);
      expect(JSON.parse(response.body).error.field).toBe('batchId');
    }
  });

  it('refuses a JSON body that is not an object, naming the body', async () => {
    for (const body of ['null', '[]', '"x"', '7']) {
      const response = (await handler({ ...post({}), body } as APIGatewayProxyEvent, context)) as APIGatewayProxyResult;
      expect(response.statusCode).toBe(400);
      expect(JSON.parse(response.body).error).toMatchObject({ code: 'INVALID_BODY', field: 'body' });
    }
  });
});
