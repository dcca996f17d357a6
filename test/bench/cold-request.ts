import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { synthesize } from '../infra/synth.js';
import { bundleLikeTheFunction } from './coldstart.js';
import { BENCH_S3_CREDENTIALS } from './credentials.js';
import { median, withServers } from './measure.js';

/**
 * The minimal handler the cold request is measured against: for each image, undici's GET with its
 * redirect and body, then one PutObject; no checks, no manifest, no report.
 */
const MINIMAL_HANDLER = `
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Agent, interceptors, request } from 'undici';
const s3 = new S3Client({ region: process.env.AWS_REGION, endpoint: process.env.S3_ENDPOINT, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
const dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: 2 }));
export const handler = async (event) => {
  const { count, width, height } = JSON.parse(event.body);
  await Promise.all(Array.from({ length: count }, async (_, index) => {
    const response = await request(process.env.PICSUM_BASE_URL + '/' + width + '/' + height, { dispatcher });
    const body = Buffer.from(await response.body.arrayBuffer());
    await s3.send(new PutObjectCommand({ Bucket: process.env.BUCKET_NAME, Key: 'minimal/' + index + '.jpg', Body: body, ContentType: 'image/jpeg' }));
  }));
  return { statusCode: 200, body: '{}' };
};
`;

/**
 * Milliseconds from a fresh process's spawn to the answer of one API Gateway `POST /batches`:
 * Node's start, the bundle's import and init, the whole batch.
 */
function coldRequestMs(bundle: string, env: NodeJS.ProcessEnv, body: object): Promise<number> {
  const event = {
    httpMethod: 'POST',
    path: '/batches',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
  const script = `
    const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
    const answer = await handler(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 60000, awsRequestId: 'cold' });
    process.stdout.write('ANSWER ' + answer.statusCode + '\\n');
    process.exit(0);`;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // The function logs to stdout too: the answer is the line the script marks.
    child.stdout.on('data', (chunk: Buffer) => {
      const elapsed = performance.now() - started;
      const status = /^ANSWER (\d+)$/m.exec(chunk.toString())?.[1];
      if (status === undefined) return;
      if (status === '200') resolve(elapsed);
      else reject(new Error(`the cold request answered ${status}`));
    });
    child.once('error', reject);
  });
}

/**
 * The whole cold request: the bundle `cdk synth` writes against the minimal handler, each in a
 * fresh process with the function's own NODE_OPTIONS, alternately, medians of `rounds`.
 * 15 images of 600x400, 50 ms per hop.
 */
export async function coldRequest(rounds = 5) {
  // The API function: the one a cold request reaches.
  const bundlePath = join(synthesize().bundleDir, 'api.mjs');
  const minimalPath = await bundleLikeTheFunction('picsum-minimal-', MINIMAL_HANDLER);
  const setup = { count: 15, latencyMs: 50, imageBytes: 0, width: 600, runs: 1 };
  return withServers(setup, async (servers) => {
    const env = {
      ...process.env,
      NODE_OPTIONS: '--enable-source-maps',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: BENCH_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: BENCH_S3_CREDENTIALS.secretAccessKey,
      BUCKET_NAME: servers.s3.bucket,
      S3_ENDPOINT: servers.s3.endpoint,
      PICSUM_BASE_URL: servers.picsum.baseUrl,
      PICSUM_REDIRECT_HOSTS: servers.picsum.imageHost,
    };
    const body = { count: 15, width: 600, height: 400 };
    // One of each first, untimed: the servers' own first answers (JIT, drawing) weigh on neither.
    await coldRequestMs(bundlePath, env, body);
    await coldRequestMs(minimalPath, env, body);
    const ours: number[] = [];
    const minimal: number[] = [];
    for (let round = 0; round < rounds; round++) {
      ours.push(await coldRequestMs(bundlePath, env, body));
      minimal.push(await coldRequestMs(minimalPath, env, body));
    }
    return { oursMs: median(ours), minimalMs: median(minimal), ours, minimal };
  });
}
