import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EMBEDDED_S3_CREDENTIALS } from '../../lambda/emulators/s3/embedded-s3.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchPlan } from '../../lambda/function/orchestration/chunks.js';
import { type Harness, startHarness } from '../support/harness.js';
import { type SignedRequest, startSigV4Server } from '../support/sigv4-server.js';

// The handler reads its environment once at import, as in Lambda: set it first, then import.
let harness: Harness;
let lambda: Awaited<ReturnType<typeof startSigV4Server>>;
let states: Awaited<ReturnType<typeof startSigV4Server>>;
let handler: typeof import('../../lambda/function/handler.js').handler;

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

beforeAll(async () => {
  harness = await startHarness();
  // Stand-ins for the Lambda and Step Functions APIs that check every request's SigV4 signature.
  // The function signs with its role's credentials, here the same ones s3rver accepts.
  const credentials = EMBEDDED_S3_CREDENTIALS;
  lambda = await startSigV4Server('lambda', 'us-east-1', (_request, res) => res.writeHead(202).end(), credentials);
  states = await startSigV4Server('states', 'us-east-1', (_request, res) => res.writeHead(200).end('{}'), credentials);
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
  vi.stubEnv('AWS_ENDPOINT_URL_SFN', states.url);
  vi.stubEnv('STATE_MACHINE_ARN', 'arn:aws:states:us-east-1:123456789012:stateMachine:picsum-batch-batches');
  vi.stubEnv('SYNC_MAX_COUNT', '5');
  vi.stubEnv('CHUNK_SIZE', '10');
  vi.stubEnv('MAX_COUNT', '5000');
  vi.stubEnv('BUCKET_NAME', harness.config.bucket);
  vi.stubEnv('S3_ENDPOINT', harness.s3server.endpoint);
  vi.stubEnv('PICSUM_BASE_URL', harness.picsum.baseUrl);
  vi.stubEnv('PICSUM_REDIRECT_HOSTS', harness.picsum.imageHost);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  ({ handler } = await import('../../lambda/function/handler.js'));
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await harness?.close();
  await lambda?.close();
  await states?.close();
});

const post = (body: object) =>
  ({
    httpMethod: 'POST',
    path: '/batches',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEvent;
const inputOf = (call: SignedRequest | undefined) => JSON.parse(JSON.parse(call?.body ?? '{}').input ?? '{}');

describe('the Lambda handler', () => {
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

  it('sends a batch over SYNC_MAX_COUNT to itself, and one over CHUNK_SIZE to the state machine', async () => {
    const small = (await handler(post({ count: 8, width: 8 }), context)) as { statusCode: number; body: string };
    const large = (await handler(post({ count: 40, width: 8 }), context)) as { statusCode: number; body: string };

    expect([small.statusCode, large.statusCode]).toEqual([202, 202]);
    expect(JSON.parse(lambda.seen.at(-1)?.body ?? '{}').job.batchId).toBe(JSON.parse(small.body).batchId);
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
      await handler({ kind: 'picsum-batch.chunk', task: { ...job, concurrency: plan.concurrency, chunk } }, context);
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
});
