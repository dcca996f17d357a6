import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { EXIT_CODES } from '../../lambda/local/exit-codes.js';
import { peakRssMb } from '../support/peak-rss.js';
import { BENCH_S3_CREDENTIALS } from './credentials.js';
import { withServers } from './measure.js';

/**
 * Peak RSS of `npm start` itself (run as `node --import tsx lambda/local/cli.ts`, one process),
 * with S3_ENDPOINT set so that no embedded S3 server runs inside it, and the catalog off.
 */
export async function startRss(
  count: number,
  concurrency: number,
  imageBytes: number,
  options: { unsized?: boolean; expectedExit?: number } = {},
): Promise<number> {
  const { expectedExit = EXIT_CODES.stored, ...source } = options;
  return withServers({ count, latencyMs: 0, imageBytes, width: 64, runs: 1, ...source }, async (servers) => {
    const child = spawn(
      process.execPath,
      [
        ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []),
        ...(process.env.BENCH_CLI === 'tsx' ? ['--import', 'tsx', 'lambda/local/cli.ts'] : ['.build/cli.mjs']),
        '--count',
        String(count),
        '--concurrency',
        String(concurrency),
        '--width',
        '64',
        '--json',
      ],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: {
          ...process.env,
          S3_ENDPOINT: servers.s3.endpoint,
          BUCKET_NAME: servers.s3.bucket,
          AWS_ACCESS_KEY_ID: BENCH_S3_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: BENCH_S3_CREDENTIALS.secretAccessKey,
          PICSUM_BASE_URL: servers.picsum.baseUrl,
          PICSUM_REDIRECT_HOSTS: servers.picsum.imageHost,
          MAX_COUNT: '100000',
          // Every image downloaded and written, as before the catalog (see run.ts).
          PICSUM_CATALOG: 'off',
        },
      },
    );
    const exited = once(child, 'exit');
    const peak = await peakRssMb(child.pid ?? 0, exited);
    const [code] = (await exited) as [number];
    // A scenario whose every image is refused by design ends with `none stored`; anything else is a broken run.
    if (code !== expectedExit) throw new Error(`npm start exited with ${code}, expected ${expectedExit}`);
    return peak;
  });
}
