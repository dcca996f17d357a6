import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CATALOG } from '../../lambda/emulators/picsum/catalog.js';
import type { Fault, RequestInfo } from '../../lambda/emulators/picsum/offline-picsum.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { BatchRecords } from '../../lambda/function/orchestration/batch-records.js';
import type { BatchPlan } from '../../lambda/function/orchestration/chunked/index.js';
import { claimIdempotencyKey, requestHash } from '../../lambda/function/orchestration/idempotency.js';
import { idempotencyKey } from '../../lambda/function/storage/keys.js';
import { putJson } from '../../lambda/function/storage/objects.js';
import { type Harness, startHarness, TEST_S3_CREDENTIALS } from '../support/harness.js';
import { type SignedRequest, startSigV4Server } from '../support/sigv4-server.js';

// Each handler reads its environment once at import, as in Lambda: set it first, then import.
let harness: Harness;
let lambda: Awaited<ReturnType<typeof startSigV4Server>>;
let states: Awaited<ReturnType<typeof startSigV4Server>>;
let events: Awaited<ReturnType<typeof startSigV4Server>>;
type Handler = (event: unknown, context: Context) => Promise<unknown>;
let handlers: Record<'api' | 'runs' | 'workflow', Handler>;
/** Sends an event to the function that receives it when deployed: the API's, the workflow's (steps), or the runs function (the rest). */
const handler = (event: unknown, context: Context) => {
  const loose = event as { httpMethod?: unknown; kind?: unknown };
  if (loose?.httpMethod !== undefined) return handlers.api(event, context);
  const steps = ['plan', 'chunk', 'aggregate', 'failed', 'heal'].map((step) => `picsum-batch.${step}`);
  return (steps.includes(String(loose?.kind)) ? handlers.workflow : handlers.runs)(event, context);
};

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

// How the Lambda and Step Functions stand-ins answer; a test may make them refuse for a while.
const launched = (res: ServerResponse) => res.writeHead(202).end();
const started = (res: ServerResponse) => res.writeHead(200).end('{}');
const throttled = (res: ServerResponse) =>
  res
    .writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'TooManyRequestsException' })
    .end('{"message":"Rate exceeded","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}');
const put = (res: ServerResponse) =>
  res
    .writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
    .end('{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}');
let lambdaAnswers = launched;
let statesAnswers = started;
let eventsAnswers = put;
afterEach(() => {
  lambdaAnswers = launched;
  statesAnswers = started;
  eventsAnswers = put;
});

// Source faults a test turns on for a while (the harness's picsum server asks for each request).
let faults: ((request: RequestInfo) => Fault | undefined) | undefined;
afterEach(() => {
  faults = undefined;
});

beforeAll(async () => {
  harness = await startHarness({ picsum: { faults: (request) => faults?.(request) } });
  // Stand-ins for the Lambda and Step Functions APIs that check every request's SigV4 signature.
  // The function signs with its role's credentials, here the same ones s3rver accepts.
  const credentials = TEST_S3_CREDENTIALS;
  lambda = await startSigV4Server('lambda', 'us-east-1', (_request, res) => lambdaAnswers(res), credentials);
  states = await startSigV4Server('states', 'us-east-1', (_request, res) => statesAnswers(res), credentials);
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
  vi.stubEnv('AWS_ENDPOINT_URL_SFN', states.url);
  // And for EventBridge, where each batch puts one event when it ends.
  events = await startSigV4Server('events', 'us-east-1', (_request, res) => eventsAnswers(res), credentials);
  vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', events.url);
  vi.stubEnv('EVENT_SOURCE', 'picsum-batch.test');
  vi.stubEnv('EVENT_BUS_NAME', 'batches-bus');
  vi.stubEnv('STATE_MACHINE_ARN', 'arn:aws:states:us-east-1:123456789012:stateMachine:picsum-batch-batches');
  vi.stubEnv('SYNC_MAX_COUNT', '5');
  vi.stubEnv('CHUNK_SIZE', '10');
  vi.stubEnv('HEAL_DELAY_S', '600');
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
  vi.stubEnv('RUNS_FUNCTION_NAME', 'picsum-batch-runs');
  handlers = {
    api: (await import('../../lambda/function/handlers/api.js')).handler,
    runs: (await import('../../lambda/function/handlers/runs.js')).handler,
    workflow: (await import('../../lambda/function/handlers/workflow.js')).handler,
  };
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await harness?.close();
  await lambda?.close();
  await states?.close();
  await events?.close();
});

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

  it('puts one for a background job, and none for its delivery again', async () => {
    const job = { batchId: 'evented-job', request: parseRequest({ count: 2, width: 8 }, harness.config) };
    const from = events.seen.length;
    await handler({ kind: 'picsum-batch.job', job }, context);
    await handler({ kind: 'picsum-batch.job', job }, context);
    expect(eventsPut(from).map((event) => [event.DetailType, event.Detail.batchId])).toEqual([
      ['Batch Done', 'evented-job'],
    ]);
  });

  it('puts one for a chunked batch, at its aggregate, and none for a step delivered again', async () => {
    const job = { batchId: 'evented-chunks', request: parseRequest({ count: 12, width: 8 }, harness.config) };
    const from = events.seen.length;
    const plan = (await handler({ kind: 'picsum-batch.plan', job }, context)) as BatchPlan;
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
const inputOf = (call: SignedRequest | undefined) => JSON.parse(JSON.parse(call?.body ?? '{}').input ?? '{}');

describe('the functions, one per trigger', () => {
  it('each refuses the events of the others, naming what arrived, and starts nothing', async () => {
    const before = await harness.keys();
    const run = { kind: 'picsum-batch.run', request: { count: 1, width: 8 } };
    const job = { kind: 'picsum-batch.job', job: { batchId: 'not-here', request: { count: 1 } } };
    const heal = { kind: 'picsum-batch.heal', batchId: 'not-here' };
    await expect(handlers.api(run, context)).rejects.toThrow(/^Refused an event of kind "picsum-batch.run" with keys/);
    await expect(handlers.api(heal, context)).rejects.toMatchObject({ code: 'UNRECOGNIZED_EVENT' });
    await expect(handlers.runs(heal, context)).rejects.toThrow(/answers only its own background jobs/);
    await expect(handlers.runs(get('/batches'), context)).rejects.toThrow(/an API Gateway request \(GET \/batches\)/);
    await expect(handlers.workflow(run, context)).rejects.toThrow(/answers only the batch state machine's steps/);
    await expect(handlers.workflow(job, context)).rejects.toMatchObject({ code: 'UNRECOGNIZED_EVENT' });
    await expect(handlers.workflow(get('/batches'), context)).rejects.toMatchObject({ code: 'UNRECOGNIZED_EVENT' });
    expect(await harness.keys()).toEqual(before);
    expect(lambda.seen.length + states.seen.length).toBe(0);
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

  it('runs a scheduler payload and returns the result, keyed by schedule name and time', async () => {
    const event = {
      kind: 'picsum-batch.run',
      request: { count: 2, width: 16 },
      scheduleName: 'nightly',
      scheduledTime: '2026-11-25T03:00:00Z',
    };

    const result = await handler(event, context);

    expect(result).toMatchObject({ batchId: 'nightly-20261125T030000Z', requested: 2, succeeded: 2 });
    expect(await harness.keys()).toContain('images/nightly-20261125T030000Z/manifest.json');
  });

  it('does not run a retried scheduler delivery again: same batch, same objects', async () => {
    const event = {
      kind: 'picsum-batch.run',
      request: { count: 2, width: 16 },
      scheduleName: 'retry',
      scheduledTime: '2026-11-25T04:00:00Z',
    };
    const first = await handler(event, context);
    const keysAfterFirst = await harness.keys();
    const requestsAfterFirst = harness.picsum.requests.length;

    const second = await handler(event, context);

    expect(second).toEqual(first);
    expect(await harness.keys()).toEqual(keysAfterFirst);
    expect(harness.picsum.requests).toHaveLength(requestsAfterFirst);
  });

  it('heals a scheduled batch left with failed items once: the state machine waits, then its heal event retries them', async () => {
    const batchId = 'heal-20261125T060000Z';
    const ids = CATALOG.slice(0, 6).map((entry) => entry.id);
    const run = { kind: 'picsum-batch.run', request: { ids, width: 16 } };
    // The first two photos are refused (404: not retried).
    faults = (r) =>
      r.hop === 'base' && ids.slice(0, 2).includes(r.photo ?? '') ? { kind: 'status', status: 404 } : undefined;
    const before = states.seen.length;

    const first = await handler({ ...run, scheduleName: 'heal', scheduledTime: '2026-11-25T06:00:00Z' }, context);
    // A run that is not the schedule's (a direct invocation) does not heal.
    const direct = await handler(run, context);

    expect(first).toMatchObject({ batchId, succeeded: 4, failed: 2, retries: 0 });
    expect(direct).toMatchObject({ failed: 2 });
    const started = states.seen.slice(before);
    expect(started.map((call) => JSON.parse(call.body).name)).toEqual([`${batchId}-heal`]);
    expect(inputOf(started[0])).toEqual({ heal: { batchId, delaySeconds: 600 } });

    // The state machine's Heal step, once the delay has passed and picsum is well again.
    faults = undefined;
    const healed = await handler({ kind: 'picsum-batch.heal', batchId }, context);

    expect(healed).toMatchObject({ batchId, requested: 6, succeeded: 6, failed: 0, retries: 1 });
    expect(states.seen.length - before).toBe(1);
    const requests = harness.picsum.requests.length;
    expect(await handler({ kind: 'picsum-batch.heal', batchId }, context)).toEqual(healed);
    expect(harness.picsum.requests).toHaveLength(requests);
  });

  it('sends a batch over SYNC_MAX_COUNT to itself, and one over CHUNK_SIZE to the state machine', async () => {
    const small = (await handler(post({ count: 8, width: 8 }), context)) as { statusCode: number; body: string };
    const large = (await handler(post({ count: 40, width: 8 }), context)) as { statusCode: number; body: string };

    expect([small.statusCode, large.statusCode]).toEqual([202, 202]);
    expect(JSON.parse(lambda.seen.at(-1)?.body ?? '{}').job.batchId).toBe(JSON.parse(small.body).batchId);
    // Where to watch it, as the caller addresses the API: with its stage.
    const staged = (await handler(
      { ...post({ count: 8, width: 8 }), requestContext: { path: '/v1/batches' } } as APIGatewayProxyEvent,
      context,
    )) as APIGatewayProxyResult;
    const { batchId } = JSON.parse(staged.body);
    expect(staged.headers).toMatchObject({ location: `/v1/batches/${batchId}` });
    expect(JSON.parse(staged.body).statusUrl).toBe(`/batches/${batchId}`);
    const started = states.seen.at(-1);
    expect(started?.signatureValid).toBe(true);
    expect(started?.headers['x-amz-target']).toBe('AWSStepFunctions.StartExecution');
    expect(inputOf(started)).toMatchObject({ batchId: JSON.parse(large.body).batchId, request: { count: 40 } });
    expect(JSON.parse(started?.body ?? '{}').stateMachineArn).toMatch(/:stateMachine:picsum-batch-batches$/);
  });

  it('starts a scheduled batch over CHUNK_SIZE once on the state machine; a retried delivery starts nothing', async () => {
    const event = {
      kind: 'picsum-batch.run',
      request: { count: 30, width: 8 },
      scheduleName: 'big',
      scheduledTime: '2026-11-25T05:00:00Z',
    };
    const before = states.seen.length;

    const first = await handler(event, context);
    const second = await handler(event, context);

    expect(first).toMatchObject({ batchId: 'big-20261125T050000Z', status: 'accepted', requested: 30 });
    expect(second).toMatchObject({ batchId: 'big-20261125T050000Z', status: 'accepted' });
    expect(states.seen.length - before).toBe(1);
    expect(JSON.parse(states.seen.at(-1)?.body ?? '{}').name).toBe('big-20261125T050000Z');
  });

  it('runs the state machine steps it is sent: plan, a chunk, aggregate', async () => {
    const job = { batchId: 'steps', request: parseRequest({ count: 25, width: 8, concurrency: 4 }, harness.config) };

    const plan = (await handler({ kind: 'picsum-batch.plan', job }, context)) as BatchPlan;
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

  it('fails a scheduler payload with a bad request, naming the field', async () => {
    await expect(handler({ kind: 'picsum-batch.run', request: { count: -1 } }, context)).rejects.toThrow(/`count`/);
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
    const launchesBefore = lambda.seen.length + states.seen.length;

    await expect(handler(event, context)).rejects.toMatchObject({
      name: 'UnrecognizedEventError',
      message: expect.stringMatching(/^Refused an? /),
    });

    expect(await harness.keys()).toEqual(keysBefore);
    expect(harness.picsum.requests).toHaveLength(fetchedBefore);
    expect(lambda.seen.length + states.seen.length).toBe(launchesBefore);
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
      'a job whose batch id climbs out of its folder',
      { kind: 'picsum-batch.job', job: { batchId: 'zz/../../../escape-job', request: validRequest } },
      /`event.job.batchId`/,
    ],
    [
      'a plan whose batch id escapes the key prefix',
      { kind: 'picsum-batch.plan', job: { batchId: '../plan-escape', request: validRequest } },
      /`event.job.batchId`/,
    ],
    [
      'a job of -5 images',
      { kind: 'picsum-batch.job', job: { batchId: 'neg', request: { ...validRequest, count: -5 } } },
      /`count`/,
    ],
    [
      'a job whose width is a path',
      {
        kind: 'picsum-batch.job',
        job: { batchId: 'path', request: { ...validRequest, width: '../../v2/list?page=1#' } },
      },
      /`width`/,
    ],
    [
      'a job with an unknown request field',
      { kind: 'picsum-batch.job', job: { batchId: 'extra', request: { ...validRequest, url: 'x' } } },
      /`url`/,
    ],
    [
      'a retry of more items than its batch',
      { kind: 'picsum-batch.job', job: { batchId: 'r', request: validRequest, retry: { run: 1, items: 3 } } },
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

  it('answers 503 with Retry-After when launching stays throttled, records the batch failed, and launches it on the repeat', async () => {
    lambdaAnswers = throttled;
    const request = {
      ...post({ count: 8, width: 8 }),
      headers: { 'content-type': 'application/json', 'idempotency-key': 'throttled-1' },
    };
    const triesBefore = lambda.seen.length;

    const refused = (await handler(request, context)) as APIGatewayProxyResult;

    expect(refused.statusCode).toBe(503);
    expect(refused.headers?.['retry-after']).toMatch(/^\d+$/);
    const { batchId, error } = JSON.parse(refused.body);
    expect(error.code).toBe('LAUNCH_FAILED');
    expect(lambda.seen.length - triesBefore).toBeGreaterThan(1);
    const status = (await handler(get(`/batches/${batchId}`), context)) as APIGatewayProxyResult;
    expect(JSON.parse(status.body)).toMatchObject({ batchId, status: 'failed', error: 'launch_failed' });

    lambdaAnswers = launched;
    const repeated = (await handler(request, context)) as APIGatewayProxyResult;

    expect(repeated.statusCode).toBe(202);
    expect(JSON.parse(repeated.body)).toMatchObject({ batchId, status: 'accepted' });
    expect(JSON.parse(lambda.seen.at(-1)?.body ?? '{}').job.batchId).toBe(batchId);
    const after = (await handler(get(`/batches/${batchId}`), context)) as APIGatewayProxyResult;
    expect(JSON.parse(after.body)).toMatchObject({ batchId, status: 'accepted' });
  });

  it('relaunches a batch whose launch failed once, however many repeats race, and answers every one', async () => {
    lambdaAnswers = throttled;
    const request = {
      ...post({ count: 8, width: 8 }),
      headers: { 'content-type': 'application/json', 'idempotency-key': 'racing-relaunch' },
    };
    const refused = (await handler(request, context)) as APIGatewayProxyResult;
    const { batchId } = JSON.parse(refused.body);
    lambdaAnswers = launched;
    const launchesOf = () => lambda.seen.filter((seen) => JSON.parse(seen.body).job?.batchId === batchId).length;
    const launchesBefore = launchesOf();

    const repeats = (await Promise.all(
      Array.from({ length: 20 }, () => handler(request, context)),
    )) as APIGatewayProxyResult[];

    expect(launchesOf() - launchesBefore).toBe(1);
    expect(repeats.map((answer) => answer.statusCode)).toEqual(Array(20).fill(202));
    for (const answer of repeats) expect(JSON.parse(answer.body)).toMatchObject({ batchId, status: 'accepted' });
  });

  it('starts a batch that recorded nothing once, however many repeats race after the grace', async () => {
    await bindKeyLongAgo('racing-unrecorded', 'unrecorded-race', { count: 8, width: 8 });
    const repeat = {
      ...post({ count: 8, width: 8 }),
      headers: { 'content-type': 'application/json', 'idempotency-key': 'racing-unrecorded' },
    };
    const launchesOf = () => lambda.seen.filter((seen) => JSON.parse(seen.body).job?.batchId === 'unrecorded-race');

    const repeats = (await Promise.all(
      Array.from({ length: 20 }, () => handler(repeat, context)),
    )) as APIGatewayProxyResult[];

    expect(launchesOf()).toHaveLength(1);
    expect(repeats.map((answer) => answer.statusCode)).toEqual(Array(20).fill(202));
  });

  it('never answers 2xx for a launch that failed, without an Idempotency-Key either', async () => {
    statesAnswers = (res) =>
      res
        .writeHead(400, { 'content-type': 'application/x-amz-json-1.0' })
        .end('{"__type":"StateMachineDoesNotExist","message":"State Machine Does Not Exist"}');

    const refused = (await handler(post({ count: 40, width: 8 }), context)) as APIGatewayProxyResult;

    expect(refused.statusCode).toBe(503);
    const { batchId } = JSON.parse(refused.body);
    const status = (await handler(get(`/batches/${batchId}`), context)) as APIGatewayProxyResult;
    expect(JSON.parse(status.body)).toMatchObject({ status: 'failed', error: 'launch_failed' });
  });

  it('launches a scheduled batch over CHUNK_SIZE again on the next delivery when the first launch failed', async () => {
    const event = {
      kind: 'picsum-batch.run',
      request: { count: 30, width: 8 },
      scheduleName: 'flaky',
      scheduledTime: '2026-11-25T06:00:00Z',
    };
    statesAnswers = (res) =>
      res
        .writeHead(400, { 'content-type': 'application/x-amz-json-1.0' })
        .end('{"__type":"ExecutionLimitExceeded","message":"Too many executions"}');

    await expect(handler(event, context)).rejects.toThrow(/could not be started/);
    statesAnswers = started;
    const redelivered = await handler(event, context);

    expect(redelivered).toMatchObject({ batchId: 'flaky-20261125T060000Z', status: 'accepted' });
    expect(JSON.parse(states.seen.at(-1)?.body ?? '{}').name).toBe('flaky-20261125T060000Z');
  });

  it('reports a synchronous batch whose invocation died as failed (interrupted), to GET and to a repeat', async () => {
    const request = parseRequest({ count: 2, width: 8 }, harness.config);
    const { batchId } = await claimIdempotencyKey('died-1', request, 'died-batch', new BatchRecords(harness));
    // What a synchronous run leaves when its invocation dies: a running record, no manifest.
    await new BatchRecords(harness).putStatus({
      batchId,
      status: 'running',
      requested: 2,
      done: 1,
      succeeded: 1,
      failed: 0,
      expiresAt: new Date(Date.now() - 1_000).toISOString(),
    });

    const status = (await handler(get(`/batches/${batchId}`), context)) as APIGatewayProxyResult;
    const repeated = (await handler(
      { ...post({ count: 2, width: 8 }), headers: { 'content-type': 'application/json', 'idempotency-key': 'died-1' } },
      context,
    )) as APIGatewayProxyResult;

    expect(JSON.parse(status.body)).toMatchObject({ batchId, status: 'failed', error: 'interrupted' });
    expect(repeated.statusCode).toBe(409);
    expect(JSON.parse(repeated.body)).toMatchObject({ batchId, error: { code: 'BATCH_FAILED' } });
  });

  it('starts the batch of a repeated request whose first invocation died before recording anything', async () => {
    await bindKeyLongAgo('died-early', 'never-started', { count: 2, width: 8 });

    const repeated = (await handler(
      {
        ...post({ count: 2, width: 8 }),
        headers: { 'content-type': 'application/json', 'idempotency-key': 'died-early' },
      },
      context,
    )) as APIGatewayProxyResult;

    expect(repeated.statusCode).toBe(200);
    expect(JSON.parse(repeated.body)).toMatchObject({ batchId: 'never-started', succeeded: 2 });
  });

  it('records a synchronous batch as running, with an expiry, before its first image', async () => {
    const putsBefore = harness.picsum.requests.length;
    const response = (await handler(post({ count: 2, width: 8 }), context)) as APIGatewayProxyResult;
    const { batchId } = JSON.parse(response.body);

    const record = JSON.parse((await harness.object(`images/${batchId}/status.json`)).bytes.toString());

    expect(harness.picsum.requests.length).toBeGreaterThan(putsBefore);
    expect(record).toMatchObject({ batchId, status: 'running', requested: 2 });
    expect(Date.parse(record.expiresAt)).toBeGreaterThan(Date.now());
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
