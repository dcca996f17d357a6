import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult } from '../../lambda/function/contracts/result.js';
import { aggregateBatch, planBatch, runChunk } from '../../lambda/function/orchestration/chunked/index.js';
import { type Harness, isImageKey, sha256, startHarness, TEST_S3_CREDENTIALS } from '../support/harness.js';
import { startSigV4Server } from '../support/sigv4-server.js';
import { definitionOf, runDefinition } from '../support/state-machine.js';
import { removeSynthesized, synthesize } from './synth.js';

/**
 * The artifact test: the bundle `cdk synth` wrote, the exact file `cdk deploy` uploads, imported
 * and invoked as Lambda would, against the local S3 server and the offline picsum server.
 */
type Handler = (event: unknown, context: Context) => Promise<APIGatewayProxyResult | BatchResult>;

let harness: Harness;
/** The three functions' handlers, each imported from its entry file in the bundle as Lambda would. */
let handlers: Record<'api' | 'runs' | 'workflow', Handler>;
let bundleDir: string;
let outdir: string | undefined;
let lambda: Awaited<ReturnType<typeof startSigV4Server>>;
let states: Awaited<ReturnType<typeof startSigV4Server>>;
let definition: ReturnType<typeof definitionOf>;
const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

beforeAll(async () => {
  const synthesized = synthesize();
  bundleDir = synthesized.bundleDir;
  outdir = synthesized.outdir;
  const { template } = synthesized;
  definition = definitionOf(template);
  harness = await startHarness();
  // Stand-ins for the Lambda and Step Functions APIs, checking each request's SigV4 signature.
  const credentials = TEST_S3_CREDENTIALS;
  lambda = await startSigV4Server('lambda', 'us-east-1', (_request, res) => res.writeHead(202).end(), credentials);
  states = await startSigV4Server('states', 'us-east-1', (_request, res) => res.writeHead(200).end('{}'), credentials);
  const env = {
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    AWS_ENDPOINT_URL_SFN: states.url,
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:picsum-batch-batches',
    RUNS_FUNCTION_NAME: 'picsum-batch-runs',
    SYNC_MAX_COUNT: '5',
    BUCKET_NAME: harness.config.bucket,
    S3_ENDPOINT: harness.s3server.endpoint,
    PICSUM_BASE_URL: harness.picsum.baseUrl,
    PICSUM_REDIRECT_HOSTS: harness.picsum.imageHost,
    AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    // Small chunks, so a 250-image batch takes the state machine's path.
    MAX_COUNT: '10000',
    CHUNK_SIZE: '100',
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const load = async (entry: string) =>
    ((await import(pathToFileURL(join(bundleDir, `${entry}.mjs`)).href)) as { handler: Handler }).handler;
  handlers = { api: await load('api'), runs: await load('runs'), workflow: await load('workflow') };
}, 120_000);
afterAll(async () => {
  vi.unstubAllEnvs();
  await harness?.close();
  if (outdir) removeSynthesized(outdir);
  await lambda?.close();
  await states?.close();
});

async function expectByteIdentical(result: BatchResult, request: object) {
  const parsed = parseRequest(request, harness.config);
  const keys = (await harness.keys()).filter((key) => key.startsWith(result.prefix) && isImageKey(key));
  expect(keys).toHaveLength(parsed.count);
  for (const key of keys) {
    const served = await harness.servedFor(key, parsed);
    expect(sha256((await harness.object(key)).bytes)).toBe(sha256(served));
  }
}

describe('the deployed bundle', () => {
  it('answers an API Gateway proxy event and stores byte-identical images', async () => {
    const request = { count: 3, width: 48, seed: 'artifact' };
    const event = {
      httpMethod: 'POST',
      path: '/batches',
      resource: '/batches',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEvent;

    const response = (await handlers.api(event, context)) as APIGatewayProxyResult;

    expect(response.statusCode).toBe(200);
    const result = JSON.parse(response.body) as BatchResult;
    expect(result).toMatchObject({ requested: 3, succeeded: 3, failed: 0 });
    await expectByteIdentical(result, request);
  });

  it('launches background batches with the SDK clients it loads on first use, signed', async () => {
    const post = (count: number) =>
      ({
        httpMethod: 'POST',
        path: '/batches',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ count, width: 8 }),
      }) as unknown as APIGatewayProxyEvent;

    const whole = (await handlers.api(post(6), context)) as APIGatewayProxyResult;
    const chunked = (await handlers.api(post(250), context)) as APIGatewayProxyResult;

    expect([whole.statusCode, chunked.statusCode]).toEqual([202, 202]);
    expect(lambda.seen.at(-1)?.signatureValid).toBe(true);
    expect(JSON.parse(lambda.seen.at(-1)?.body ?? '{}').job.batchId).toBe(JSON.parse(whole.body).batchId);
    expect(states.seen.at(-1)?.signatureValid).toBe(true);
    expect(JSON.parse(states.seen.at(-1)?.body ?? '{}').name).toBe(JSON.parse(chunked.body).batchId);
  });

  it("carries undici 8's own finish of a paused parser, unpatched (a closing source must not crash the function)", () => {
    const folder = bundleDir;
    const files = readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.mjs'));
    const code = files.map((name) => readFileSync(join(folder, name), 'utf8')).join('\n');
    // undici 7 asserted `!this.paused` when the peer ended the socket (nodejs/undici#5360); undici 8
    // resumes the parser and drains the socket instead. Minified, that loop reads as below.
    expect(code).toMatch(
      /if\(this\.paused\)\{let \w+;do \w+\.llhttp_resume\(this\.ptr\),this\.paused=!1,\w+=this\.socket\.read\(\)/,
    );
    expect(code).not.toContain('parseRestBeforeEof');
  });

  it('refuses events it does not recognise, and each function the events of the others', async () => {
    for (const handler of Object.values(handlers)) {
      await expect(handler({ Records: [{ eventSource: 'aws:s3' }] }, context)).rejects.toThrow(/from aws:s3/);
    }
    const run = { kind: 'picsum-batch.run', request: { count: 1 } };
    const plan = { kind: 'picsum-batch.plan', job: { batchId: 'b', request: { count: 1 } } };
    await expect(handlers.api(run, context)).rejects.toMatchObject({ code: 'UNRECOGNIZED_EVENT' });
    await expect(handlers.workflow(run, context)).rejects.toMatchObject({ code: 'UNRECOGNIZED_EVENT' });
    await expect(handlers.runs(plan, context)).rejects.toThrow(/of kind "picsum-batch.plan"/);
    await expect(handlers.runs({ httpMethod: 'GET', path: '/batches', headers: {} }, context)).rejects.toThrow(
      /an API Gateway request \(GET \/batches\)/,
    );
  });

  it('refuses a bad body with a JSON 400 naming the field', async () => {
    const event = {
      httpMethod: 'POST',
      path: '/batches',
      headers: { 'content-type': 'application/json' },
      body: '{"blur":42}',
    } as unknown as APIGatewayProxyEvent;

    const response = (await handlers.api(event, context)) as APIGatewayProxyResult;

    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).error.field).toBe('blur');
  });

  it('runs a scheduler event once, even when the delivery is retried', async () => {
    const request = { count: 2, width: 40, seed: 'nightly' };
    const event = {
      kind: 'picsum-batch.run',
      request,
      scheduleName: 'PicsumBatch-batch',
      scheduledTime: '2026-11-25T00:00:00Z',
    };

    const first = (await handlers.runs(event, context)) as BatchResult;
    const objectsAfterFirst = await harness.keys();
    const retried = (await handlers.runs(event, context)) as BatchResult;

    expect(first).toMatchObject({ batchId: 'PicsumBatch-batch-20261125T000000Z', succeeded: 2 });
    expect(retried).toEqual(first);
    expect(await harness.keys()).toEqual(objectsAfterFirst);
    await expectByteIdentical(first, request);
  });
});

describe('the deployed bundle under the synthesized state machine', () => {
  it('runs plan, every chunk and aggregate with the payloads the definition sends, into one manifest', async () => {
    const request = parseRequest({ count: 250, width: 8, seed: 'workflow', concurrency: 8 }, harness.config);
    const job = { batchId: 'workflow-batch', request };

    const run = await runDefinition(definition, job, (payload) => handlers.workflow(payload, context));

    expect(run.status).toBe('SUCCEEDED');
    expect(run.visited).toEqual(['HealOrRun', 'Plan', 'Chunks', 'Aggregate', 'AllChunksRan', 'Done']);
    expect(run.output).toMatchObject({ batchId: 'workflow-batch', requested: 250, succeeded: 250, failed: 0 });
    const manifest = JSON.parse((await harness.object((run.output as BatchResult).manifestKey)).bytes.toString());
    expect(manifest.items).toHaveLength(250);
    expect(manifest.result).toMatchObject({ requested: 250, succeeded: 250, concurrency: 8 * 3 });
    const images = (await harness.keys()).filter((key) => key.includes('/workflow-batch/') && key.endsWith('.jpg'));
    expect(images).toHaveLength(250);
    const status = (await handlers.api(
      { httpMethod: 'GET', path: '/batches/workflow-batch', headers: {} } as unknown as APIGatewayProxyEvent,
      context,
    )) as APIGatewayProxyResult;
    expect(JSON.parse(status.body)).toMatchObject({ status: 'done', result: { succeeded: 250 } });
  });

  it('heals a batch whose chunks died: waits, then its retry runs as an execution of its own, in chunks', async () => {
    // A batch of 250 whose first two chunks left no record: 167 items chunk_failed.
    // Chunks of 100, as the bundle's environment says.
    const options = {
      config: { ...harness.config, chunkSize: 100 },
      deps: harness.deps,
      deadlineAt: Date.now() + 60_000,
    };
    const request = parseRequest({ count: 250, width: 8, seed: 'heal', concurrency: 8 }, harness.config);
    const plan = await planBatch({ batchId: 'heal-batch', request, scheduled: true }, 3, options);
    await runChunk(
      {
        batchId: 'heal-batch',
        request,
        concurrency: plan.concurrency,
        startedAt: plan.startedAt,
        chunk: plan.chunks[2] as never,
      },
      options,
    );
    expect((await aggregateBatch(plan, options)).result).toMatchObject({ succeeded: 83, failed: 167 });
    const started = states.seen.length;

    // The execution the function starts for healing: it waits, then sends the heal event.
    const heal = await runDefinition(definition, { heal: { batchId: 'heal-batch', delaySeconds: 900 } }, (payload) =>
      handlers.workflow(payload, context),
    );

    expect(heal.status).toBe('SUCCEEDED');
    expect(heal.visited).toEqual(['HealOrRun', 'HealDelay', 'waited 900', 'Heal', 'Healed']);
    // 167 unfinished items are over CHUNK_SIZE: the heal started the retry as its own execution.
    const retryExecution = JSON.parse(states.seen.at(-1)?.body ?? '{}');
    expect(states.seen.length - started).toBe(1);
    expect(retryExecution.name).toBe('heal-batch-retry-1');
    const retryJob = JSON.parse(retryExecution.input);
    expect(retryJob).toMatchObject({ batchId: 'heal-batch', retry: { run: 1, items: 167 } });

    const retry = await runDefinition(definition, retryJob, (payload) => handlers.workflow(payload, context));

    expect(retry.visited).toEqual(['HealOrRun', 'Plan', 'Chunks', 'Aggregate', 'AllChunksRan', 'Done']);
    expect(retry.output).toMatchObject({ batchId: 'heal-batch', requested: 250, succeeded: 250, failed: 0 });
    const manifest = JSON.parse((await harness.object((retry.output as BatchResult).manifestKey)).bytes.toString());
    expect(manifest.result).toMatchObject({ succeeded: 250, retries: 1 });
    expect(manifest.items).toHaveLength(250);
    const images = (await harness.keys()).filter((key) => key.includes('/heal-batch/') && key.endsWith('.jpg'));
    expect(images).toHaveLength(250);
  });

  it('records a batch whose plan fails for good as failed, so GET stops saying running', async () => {
    // A request no API would have let through: the plan step refuses it, naming the field.
    const job = { batchId: 'doomed', request: { ...parseRequest({ count: 2 }, harness.config), width: 0 } };

    const run = await runDefinition(definition, job, (payload) => handlers.workflow(payload, context));

    expect(run.status).toBe('FAILED');
    expect(run.visited).toEqual(['HealOrRun', 'Plan', 'RecordFailure', 'BatchFailed']);
    expect(run.output).toMatchObject({ error: 'InvalidEventError' });
    const status = (await handlers.api(
      { httpMethod: 'GET', path: '/batches/doomed', headers: {} } as unknown as APIGatewayProxyEvent,
      context,
    )) as APIGatewayProxyResult;
    expect(JSON.parse(status.body)).toMatchObject({
      batchId: 'doomed',
      status: 'failed',
      requested: 2,
      error: 'InvalidEventError',
    });
    expect(JSON.parse(status.body).cause).toContain('`event.job.request`: Expected `width`');
  });
});
