import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

// The handler reads its environment once at import, as in Lambda: set it first, then import.
let harness: Harness;
let handler: typeof import('../../lambda/handler.js').handler;

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

beforeAll(async () => {
  harness = await startHarness();
  vi.stubEnv('BUCKET_NAME', harness.config.bucket);
  vi.stubEnv('S3_ENDPOINT', harness.s3server.endpoint);
  vi.stubEnv('PICSUM_BASE_URL', harness.picsum.baseUrl);
  vi.stubEnv('PICSUM_REDIRECT_HOSTS', harness.picsum.imageHost);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  ({ handler } = await import('../../lambda/handler.js'));
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await harness?.close();
});

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
    const event = { request: { count: 2, width: 16 }, scheduleName: 'nightly', scheduledTime: '2026-11-25T03:00:00Z' };

    const result = await handler(event, context);

    expect(result).toMatchObject({ batchId: 'nightly-20261125T030000Z', requested: 2, succeeded: 2 });
    expect(await harness.keys()).toContain('images/nightly-20261125T030000Z/manifest.json');
  });

  it('does not run a retried scheduler delivery again: same batch, same objects', async () => {
    const event = { request: { count: 2, width: 16 }, scheduleName: 'retry', scheduledTime: '2026-11-25T04:00:00Z' };
    const first = await handler(event, context);
    const keysAfterFirst = await harness.keys();
    const requestsAfterFirst = harness.picsum.requests.length;

    const second = await handler(event, context);

    expect(second).toEqual(first);
    expect(await harness.keys()).toEqual(keysAfterFirst);
    expect(harness.picsum.requests).toHaveLength(requestsAfterFirst);
  });

  it('fails a scheduler payload with a bad request, naming the field', async () => {
    await expect(handler({ request: { count: -1 } }, context)).rejects.toThrow(/`count`/);
  });
});
