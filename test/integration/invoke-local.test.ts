import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchResult } from '../../lambda/function/contracts/result.js';
import { invokeLocal } from '../../lambda/local/invoke-local.js';
import { verify } from '../../lambda/local/verify.js';
import { type Harness, startHarness, TEST_S3_CREDENTIALS } from '../support/harness.js';

/**
 * `npm run invoke:local` and `npm run verify` in process, against the harness's S3 server and
 * offline picsum (as BUCKET_NAME, S3_ENDPOINT and PICSUM_BASE_URL would set them).
 */
let harness: Harness;
let scratch: string;
beforeAll(async () => {
  harness = await startHarness();
  scratch = await mkdtemp(join(tmpdir(), 'invoke-local-'));
});
afterAll(async () => {
  await harness?.close();
  await rm(scratch, { recursive: true, force: true });
});

const SAMPLES = 'lambda/local/sample-events';
const env = () => ({
  BUCKET_NAME: harness.config.bucket,
  S3_ENDPOINT: harness.s3server.endpoint,
  AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
  PICSUM_BASE_URL: harness.picsum.baseUrl,
  PICSUM_REDIRECT_HOSTS: harness.picsum.imageHost,
});

async function invoke(args: string[]) {
  const printed: string[] = [];
  const code = await invokeLocal(args, (line) => printed.push(line), env());
  return { code, answer: JSON.parse(printed.join('\n')) };
}

async function verifyBatch(batchId: string) {
  const printed: string[] = [];
  const code = await verify([batchId, '--json'], (line) => printed.push(line), env());
  return { code, verification: JSON.parse(printed.join('\n')) };
}

describe('npm run invoke:local', () => {
  it('answers a saved API Gateway event as the deployed API would, through the real handler', async () => {
    const { code, answer } = await invoke(['--event', join(SAMPLES, 'api-post-batches.json')]);

    expect(code).toBe(0);
    expect(answer.statusCode).toBe(200);
    const result = JSON.parse(answer.body) as BatchResult;
    expect(result).toMatchObject({ requested: 3, succeeded: 3, bucket: harness.config.bucket });
    expect(await harness.keys()).toContain(result.manifestKey);
  });

  it('runs a scheduled run envelope on the state machine, into the batch its name and time make, once', async () => {
    const { answer } = await invoke(['--event', join(SAMPLES, 'scheduled-run.json')]);

    expect(answer).toMatchObject({
      batchId: 'picsum-batch-nightly-20261202T020000Z',
      status: 'done',
      result: { succeeded: 3 },
    });
  });

  it("takes a batch through the state machine's steps, saved one after another: plan, chunk, aggregate", async () => {
    const job = { batchId: '20261202T030000Z-0000c0de', request: { count: 4, width: 16 } };
    const step = async (event: object) => {
      const file = join(scratch, 'event.json');
      await writeFile(file, JSON.stringify(event));
      return (await invoke(['--event', file])).answer;
    };

    const plan = await step({ kind: 'picsum-batch.plan', job, execution: job.batchId });
    for (const chunk of plan.chunks) {
      const task = {
        batchId: plan.batchId,
        request: plan.request,
        concurrency: plan.concurrency,
        chunk,
        startedAt: plan.startedAt,
      };
      await step({ kind: 'picsum-batch.chunk', task });
    }
    const aggregate = await step({ kind: 'picsum-batch.aggregate', plan });

    expect(aggregate).toMatchObject({ batchId: job.batchId, requested: 4, succeeded: 4, failed: 0 });
  });

  it('prints the refusal of an event the function does not answer, as Lambda reports it, and starts nothing', async () => {
    const before = (await harness.keys()).length;
    const { code, answer } = await invoke(['--event', join(SAMPLES, 's3-notification.json')]);

    expect(code).toBe(1);
    expect(answer).toEqual({
      errorType: 'UnrecognizedEventError',
      errorMessage: expect.stringMatching(/^Refused an event of 1 record\(s\) from aws:s3/),
    });
    expect((await harness.keys()).length).toBe(before);
  });

  it('refuses a missing or unreadable event file by name', async () => {
    await expect(invokeLocal([], () => {}, env())).rejects.toThrow('Expected --event FILE');
    await expect(invokeLocal(['--event', 'no-such.json'], () => {}, env())).rejects.toThrow(/Cannot read --event/);
  });

  it('has a sample of every kind its README lists, each valid JSON', async () => {
    const readme = await readFile(join(SAMPLES, 'README.md'), 'utf8');
    const listed = [...readme.matchAll(/^\| `([^`]+\.json)` +\|/gm)].map((match) => match[1] ?? '');
    expect(listed.length).toBeGreaterThanOrEqual(5);
    for (const name of listed) JSON.parse(await readFile(join(SAMPLES, name), 'utf8'));
  });
});

describe('npm run verify', () => {
  it('finds every object of a batch as its manifest records it, then names what is missing, different or extra', async () => {
    const { answer } = await invoke(['--event', join(SAMPLES, 'run.json')]);
    const { result } = answer as { result: BatchResult };
    const whole = await verifyBatch(result.batchId);
    expect(whole.code).toBe(0);
    expect(whole.verification).toMatchObject({ checked: 3, matching: 3, missing: [], different: [], extra: [] });

    const manifest = JSON.parse((await harness.object(result.manifestKey)).bytes.toString());
    const [first, second] = manifest.items.map((item: { key: string }) => item.key);
    await harness.s3.send(new PutObjectCommand({ Bucket: harness.config.bucket, Key: first, Body: 'not the photo' }));
    await harness.s3.send(new DeleteObjectCommand({ Bucket: harness.config.bucket, Key: second }));
    const extra = `${result.prefix}9-42.jpg`;
    await harness.s3.send(new PutObjectCommand({ Bucket: harness.config.bucket, Key: extra, Body: 'x' }));

    const broken = await verifyBatch(result.batchId);
    expect(broken.code).toBe(1);
    expect(broken.verification).toMatchObject({
      matching: 1,
      missing: [second],
      different: [{ key: first, found: { bytes: 13 } }],
      extra: [extra],
    });
  });
});
