import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

const exec = promisify(execFile);
let harness: Harness;

beforeAll(async () => {
  // What `npm start` runs: the compiled command (its prestart step builds it).
  await exec(process.execPath, ['lambda/local/build.mjs']);
  harness = await startHarness();
});
afterAll(() => harness?.close());

/** `npm start -- ...args` as a user runs it, against the harness's S3 server. */
async function start(args: string[]) {
  const env = {
    ...process.env,
    BUCKET_NAME: harness.config.bucket,
    S3_ENDPOINT: harness.s3server.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    PICSUM_BASE_URL: '',
  };
  try {
    const { stdout, stderr } = await exec(process.execPath, ['.build/cli.mjs', ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm start', () => {
  it('prints only the result as JSON with --json and exits 0', async () => {
    const { code, stdout } = await start(['--count', '3', '--width', '24', '--source', 'offline', '--json']);

    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0] ?? '');
    expect(result).toMatchObject({ requested: 3, succeeded: 3, bucket: harness.config.bucket });
    expect(await harness.keys()).toContain(result.manifestKey);
  });

  it('prints a summary saying where the images are', async () => {
    const { code, stdout, stderr } = await start(['--count', '2', '--width', '24', '--source', 'offline']);

    expect(code).toBe(0);
    expect(stderr).toMatch(/2\/2 done/);
    expect(stdout).toMatch(/Stored 2 of 2 images/);
    expect(stdout).toMatch(new RegExp(`s3://${harness.config.bucket}/images/`));
  });

  it('refuses a bad flag value by name with exit code 2, starting nothing', async () => {
    const { code, stderr } = await start(['--count', 'many', '--source', 'offline']);

    expect(code).toBe(2);
    expect(stderr).toMatch(/Expected `count` to be an integer from 1 to 100000, got "many"/);
  });

  it('refuses an unknown flag with exit code 2', async () => {
    const { code, stderr } = await start(['--colour', 'red']);

    expect(code).toBe(2);
    expect(stderr).toMatch(/Unknown option '--colour'/);
  });
});
