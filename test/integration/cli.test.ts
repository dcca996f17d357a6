import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOfflinePicsum } from '../../lambda/emulators/picsum/offline-picsum.js';
import type { Manifest } from '../../lambda/function/contracts/result.js';
import { type Harness, startHarness, TEST_S3_CREDENTIALS } from '../support/harness.js';
import { peakRssMb } from '../support/peak-rss.js';

const exec = promisify(execFile);

/** Whether this machine lets a process mount a tmpfs of its own (a user and mount namespace). */
const namespaces = await exec('unshare', ['--user', '--map-root-user', '--mount', 'true']).then(
  () => true,
  () => false,
);
if (!namespaces) console.warn('full-disk test skipped: no user namespaces (unshare --user --mount)');
let harness: Harness;

beforeAll(async () => {
  // What `npm start` runs: the compiled command (its prestart step builds it).
  await exec(process.execPath, ['lambda/local/build.mjs']);
  harness = await startHarness();
});
afterAll(() => harness?.close());

/** `npm start -- ...args` as a user runs it, against the harness's S3 server. */
const cliEnv = (extra: Record<string, string> = {}) => ({
  ...process.env,
  BUCKET_NAME: harness.config.bucket,
  S3_ENDPOINT: harness.s3server.endpoint,
  AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
  PICSUM_BASE_URL: '',
  ...extra,
});

/** `npm start -- ...args` with `extra` variables: its exit code and output, whatever the code. */
async function start(args: string[], extra: Record<string, string> = {}) {
  const env = cliEnv(extra);
  try {
    const { stdout, stderr } = await exec(process.execPath, ['.build/cli.mjs', ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * A source whose `/v2/list` pages are `page(n)` (image routes answer 404): the catalog alone
 * differs between the runs compared.
 */
async function catalogOnlySource(page: (n: number) => unknown[]) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== '/v2/list') return res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(page(Number(url.searchParams.get('page')))));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** Peak RSS (MB) of `npm start -- --count 3 --source URL`, run to its end. */
async function startPeakMb(source: string): Promise<number> {
  const child = spawn(
    process.execPath,
    ['.build/cli.mjs', '--count', '3', '--width', '8', '--source', source, '--json'],
    {
      env: cliEnv(),
      stdio: 'ignore',
    },
  );
  const exited = once(child, 'exit');
  const peak = await peakRssMb(child.pid ?? 0, exited);
  await exited;
  return peak;
}

/** Catalog entries from id `first`; `long`: credit strings near the lengths a page schema allows. */
const photoEntries = (first: number, count: number, long = false) =>
  Array.from({ length: count }, (_, i) => ({
    id: String(first + i),
    author: `Author ${'x'.repeat(long ? 150 : 0)}`,
    width: 100,
    height: 100,
    url: `https://example.test/${first + i}/${'y'.repeat(long ? 300 : 0)}`,
  }));

describe('npm start', () => {
  it("peaks near a normal run's memory on a hostile catalog: pages of 1,700 entries, or pages without end", async () => {
    const normal = await catalogOnlySource((n) => (n <= 10 ? photoEntries((n - 1) * 100, 100) : []));
    const oversized = await catalogOnlySource((n) => (n <= 100 ? photoEntries(n * 1_700, 1_700, true) : []));
    const endless = await catalogOnlySource((n) => photoEntries(n * 100, 100, true));

    const normalMb = await startPeakMb(normal.url);
    const oversizedMb = await startPeakMb(oversized.url);
    const endlessMb = await startPeakMb(endless.url);

    expect(oversizedMb).toBeLessThan(normalMb * 1.25);
    expect(endlessMb).toBeLessThan(normalMb * 1.25);
    for (const source of [normal, oversized, endless]) source.close();
  }, 120_000);

  it('prints only the result as JSON with --json and exits 0', async () => {
    const { code, stdout } = await start(['--count', '3', '--width', '24', '--source', 'offline', '--json']);

    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0] ?? '');
    expect(result).toMatchObject({ requested: 3, succeeded: 3, bucket: harness.config.bucket, source: 'offline' });
    expect(await harness.keys()).toContain(result.manifestKey);
    const manifest = JSON.parse(String((await harness.object(result.manifestKey)).bytes)) as Manifest;
    expect(manifest.result.source).toBe('offline');
  });

  it('prints a summary saying where the images are', async () => {
    const { code, stdout, stderr } = await start(['--count', '2', '--width', '24', '--source', 'offline']);

    expect(code).toBe(0);
    expect(stderr).toMatch(/2\/2 done/);
    expect(stdout).toMatch(/Stored 2 of 2 images/);
    expect(stdout).toMatch(new RegExp(`s3://${harness.config.bucket}/images/`));
  });

  it('copies the batch into --out DIR/{batchId}/ (images under their names, byte for byte, manifest, report) and says how to open it', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cli-out-'));
    try {
      const { code, stdout } = await start(['--count', '3', '--width', '24', '--source', 'offline', '--out', out]);

      expect(code).toBe(0);
      const batchId = /images\/([^/]+)\/manifest\.json/.exec(stdout)?.[1] ?? '';
      const folder = join(out, batchId);
      const manifest = JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')) as Manifest;
      const names = manifest.items.map((item) => (item.ok ? item.key.slice(manifest.result.prefix.length) : ''));
      expect((await readdir(folder)).sort()).toEqual([...names, 'manifest.json', 'report.html'].sort());
      for (const item of manifest.items) {
        if (!item.ok) continue;
        const bytes = await readFile(join(folder, item.key.slice(manifest.result.prefix.length)));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(item.sha256);
      }
      expect(stdout).toContain(`Report: open ${pathToFileURL(join(folder, 'report.html')).href}`);
      expect(stdout).not.toMatch(/Unfinished/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('prints the exact --retry command when items are unfinished, with the source the batch came from', async () => {
    const missing = await startOfflinePicsum({ faults: () => ({ kind: 'status', status: 404 }) });
    try {
      const run = await start(['--count', '2', '--width', '8'], {
        PICSUM_BASE_URL: missing.baseUrl,
        PICSUM_REDIRECT_HOSTS: missing.imageHost,
      });
      const { stdout } = run;
      const batchId = /images\/([^/]+)\/manifest\.json/.exec(stdout)?.[1] ?? '';

      expect(run.code).toBe(4);

      expect(stdout).toContain(
        `Unfinished: 2 item(s). Run them again into this batch: npm start -- --retry ${batchId} --source ${missing.baseUrl}/`,
      );
    } finally {
      await missing.close();
    }
  });

  it("lists the bucket's batches with --list, newest first, as a table or as the API's page with --json", async () => {
    const ran = await start(['--count', '1', '--width', '8', '--source', 'offline', '--json']);
    const { batchId } = JSON.parse(ran.stdout);

    const table = await start(['--list']);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.split('\n');
    expect(header).toMatch(/^BATCH +STATUS +STORED +FAILED +REQUESTED +CREATED \(UTC\)$/);
    // (Among the newest: batches of the same second are ordered by id.)
    expect(rows).toContainEqual(expect.stringMatching(new RegExp(`^${batchId} +done +1 +0 +1 `)));
    const page = JSON.parse((await start(['--list', '--json'])).stdout);
    expect(page.batches).toContainEqual(
      expect.objectContaining({ batchId, status: 'done', succeeded: 1, failed: 0, requested: 1 }),
    );
    expect((await start(['--list', '--count', '3'])).code).toBe(2);
  });

  it('pipes `npm start -- --json`, `--list --json` and `npm run verify -- ID --json` to a JSON parser: npm prints no banner on stdout', async () => {
    // As a user runs it, with no loglevel of an outer npm (npm test's) passed down.
    const env: NodeJS.ProcessEnv = cliEnv();
    delete env.npm_config_loglevel;
    const npm = async (args: string[]) => {
      const ran = await exec('npm', args, { env }).catch((error: { stdout: string; code: number }) => error);
      // Everything on stdout is the one JSON document, as `| jq .` reads it.
      return { code: 'code' in ran ? ran.code : 0, json: JSON.parse(ran.stdout) };
    };

    const run = await npm(['start', '--', '--count', '1', '--width', '8', '--source', 'offline', '--json']);
    const list = await npm(['start', '--', '--list', '--json']);
    const verify = await npm(['run', 'verify', '--', run.json.batchId, '--json']);

    expect(run).toMatchObject({ code: 0, json: { succeeded: 1 } });
    expect(list.json.batches).toContainEqual(expect.objectContaining({ batchId: run.json.batchId }));
    expect(verify.code).toBe(0);
    expect(verify.json).toMatchObject({ batchId: run.json.batchId });
  });

  it('deletes a batch with --delete: every object of it, what was removed as a line or as JSON, nothing more the second time', async () => {
    const ran = await start(['--count', '2', '--width', '8', '--source', 'offline', '--json']);
    const { batchId, prefix } = JSON.parse(ran.stdout);
    const objects = await harness.keys(prefix);

    const deleted = await start(['--delete', batchId, '--json']);
    expect(deleted.code).toBe(0);
    expect(JSON.parse(deleted.stdout)).toMatchObject({
      batchId,
      status: 'deleted',
      deleted: { images: 2, documents: objects.length - 2 },
    });
    expect(await harness.keys(prefix)).toEqual([]);
    const again = await start(['--delete', batchId]);
    expect([again.code, again.stdout.trim()]).toEqual([
      0,
      `Nothing left to delete under s3://${harness.config.bucket}/${prefix}.`,
    ]);
    expect((await start(['--delete', batchId, '--count', '3'])).code).toBe(2);
    expect((await start(['--delete', 'not an id'])).code).toBe(2);
  });

  it('exits 4 when nothing was stored and 3 when some items failed, writing the manifest either way', async () => {
    // A source that answers, and has none of the photos asked for.
    const empty = await startOfflinePicsum({
      faults: (r) => (r.hop === 'base' ? { kind: 'status', status: 404 } : undefined),
    });
    try {
      const nothing = await start(['--count', '2', '--width', '8', '--json'], {
        PICSUM_BASE_URL: empty.baseUrl,
        PICSUM_REDIRECT_HOSTS: empty.imageHost,
      });
      expect(nothing.code).toBe(4);
      const none = JSON.parse(nothing.stdout);
      expect(none).toMatchObject({ succeeded: 0, failed: 2 });
      expect(await harness.keys()).toContain(none.manifestKey);
    } finally {
      await empty.close();
    }

    // Two of the four photos asked for are missing at the source.
    const half = await startOfflinePicsum({
      faults: (r) =>
        r.hop === 'base' && ['20', '40'].includes(r.photo ?? '') ? { kind: 'status', status: 404 } : undefined,
    });
    try {
      const some = await start(['--ids', '10,20,30,40', '--width', '8', '--json'], {
        PICSUM_BASE_URL: half.baseUrl,
        PICSUM_REDIRECT_HOSTS: half.imageHost,
      });
      expect(some.code).toBe(3);
      const result = JSON.parse(some.stdout);
      expect(result).toMatchObject({ succeeded: 2, failed: 2 });
      expect(await harness.keys()).toContain(result.manifestKey);
    } finally {
      await half.close();
    }
  });

  it('prints one line for a mistake, naming the option meant, and the usage only with --help', async () => {
    const typo = await start(['--cout', '3']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe("picsum-batch: Unknown option '--cout' (did you mean --count?)\n");
    expect((await start(['--help'])).stdout).toMatch(/^Usage: npm start -- \[options\]/);
    const budget = await start(['--count', '1'], { LOCAL_TIME_BUDGET_MS: 'soon' });
    expect(budget.code).toBe(1);
    expect(budget.stderr).toBe(
      'picsum-batch: Expected LOCAL_TIME_BUDGET_MS to be an integer from 1 to 86400000, got "soon"\n',
    );
    const version = await start(['--version']);
    expect(version.stdout).toMatch(/^picsum-batch \d+\.\d+\.\d+ \(Node\.js 24\.\d+\.\d+\)\n$/);
  });

  it('refuses a --source that is no source with exit 2 and the name it is a typo of; an unreachable one with exit 1; neither records a batch', async () => {
    const before = await harness.keys();
    const typo = await start(['--source', 'picsm', '--count', '1']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe(
      'picsum-batch: Expected --source to be picsum, offline or an http(s) URL, got "picsm" (did you mean --source picsum?)\n',
    );
    const closed = await start(['--source', 'http://127.0.0.1:1', '--count', '1']);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toBe("picsum-batch: http://127.0.0.1:1 can't be reached (ECONNREFUSED)\n");
    expect(closed.stdout).toBe('');
    expect(await harness.keys()).toEqual(before);
  });

  it('refuses a bad flag value by name with exit code 2, starting nothing', async () => {
    const { code, stderr } = await start(['--count', 'many', '--source', 'offline']);

    expect(code).toBe(2);
    expect(stderr).toMatch(/Expected `count` to be an integer from 1 to 100000, got "many"/);
  });

  it('says what a batch killed before its manifest left in the bucket, and what to do, when asked to retry it', async () => {
    const batchId = '20261202T000000Z-killed00';
    for (const name of ['00-1.jpg', '01-2.jpg', '02-3.jpg']) {
      await harness.s3.send(
        new PutObjectCommand({ Bucket: harness.config.bucket, Key: `images/${batchId}/${name}`, Body: 'x' }),
      );
    }

    const { code, stderr } = await start(['--retry', batchId, '--source', 'offline']);

    expect(code).toBe(1);
    expect(stderr).toMatch(`batch ${batchId} has no manifest`);
    expect(stderr).toMatch(`s3://${harness.config.bucket}/images/${batchId}/`);
    expect(stderr).toMatch(/holds 3 object\(s\) it left; run the request again as a new batch/);
  });

  it('refuses --retry of a batch the bucket does not hold (exit 1) and --retry with request flags (exit 2)', async () => {
    const unknown = await start(['--retry', '20260101T000000Z-00000000', '--source', 'offline']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no batch 20260101T000000Z-00000000 in bucket/);
    const mixed = await start(['--retry', '20260101T000000Z-00000000', '--count', '3']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/--count cannot go with it/);
    const malformed = await start(['--retry', '../etc']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--retry/);
  });

  it('refuses a manifest that names another batch or a key outside its own, writing no file anywhere', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cli-out-'));
    const elsewhere = await mkdtemp(join(tmpdir(), 'cli-elsewhere-'));
    try {
      const ran = await start(['--count', '2', '--width', '8', '--source', 'offline', '--json']);
      const { batchId, manifestKey } = JSON.parse(ran.stdout) as { batchId: string; manifestKey: string };
      const manifest = JSON.parse((await harness.object(manifestKey)).bytes.toString('utf8')) as Manifest & {
        items: { key?: string; ok: boolean }[];
      };
      const forge = (change: (copy: typeof manifest) => void) => {
        const copy = structuredClone(manifest);
        change(copy);
        return harness.s3.send(
          new PutObjectCommand({ Bucket: harness.config.bucket, Key: manifestKey, Body: JSON.stringify(copy) }),
        );
      };

      await forge((copy) => {
        copy.batchId = `../../../..${elsewhere}/pwned`;
        // Every item unfinished, so a retry would run and copy.
        copy.items = copy.items.map((item) => ({ ...item, ok: false, reason: 'source_status' as const, message: 'x' }));
      });
      const otherBatch = await start(['--retry', batchId, '--source', 'offline', '--out', out]);
      await forge((copy) => {
        const first = copy.items[0];
        if (first) first.key = 'images/idempotency/../../dot.bashrc';
      });
      const outsideKey = await start(['--retry', batchId, '--source', 'offline', '--out', out]);

      expect(otherBatch.code).toBe(1);
      expect(otherBatch.stderr).toMatch(/manifest\.json does not check out: `batchId`/);
      expect(outsideKey.code).toBe(1);
      expect(outsideKey.stderr).toMatch(
        /`items\.0\.key` "images\/idempotency\/\.\.\/\.\.\/dot\.bashrc" is not an image of batch/,
      );
      expect(await readdir(elsewhere)).toEqual([]);
      expect(await readdir(out)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('checks --out before anything runs: a file, an empty name, /proc or the data folder is exit 2, nothing fetched', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'cli-out-'));
    const file = join(scratch, 'a-file');
    await writeFile(file, 'x');
    const counted = await startOfflinePicsum();
    try {
      const env = cliEnv({ PICSUM_BASE_URL: counted.baseUrl, PICSUM_REDIRECT_HOSTS: counted.imageHost });
      const attempts = [];
      for (const out of [file, '', '/proc/self', join('.data', 's3', 'picsum-batch')]) {
        attempts.push(
          await exec(process.execPath, ['.build/cli.mjs', '--count', '2', '--width', '8', '--out', out], { env }).then(
            () => ({ code: 0, stderr: '' }),
            (error: { code: number; stderr: string }) => error,
          ),
        );
      }

      expect(attempts.map((attempt) => attempt.code)).toEqual([2, 2, 2, 2]);
      for (const attempt of attempts)
        expect(attempt.stderr).toMatch(/Expected `--out` to be a folder this process can write/);
      expect(counted.requests.length).toBe(0);
      expect(await readdir(scratch)).toEqual(['a-file']);
    } finally {
      await counted.close();
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('lists an unreadable record as one unreadable row, the other batches as ever', async () => {
    const good = JSON.parse((await start(['--count', '1', '--width', '8', '--source', 'offline', '--json'])).stdout);
    const badId = '20261206T000000Z-badbad00';
    await harness.s3.send(
      new PutObjectCommand({
        Bucket: harness.config.bucket,
        Key: `images/${badId}/manifest.json`,
        Body: '{"batchId":',
      }),
    );

    const table = await start(['--list']);
    const page = JSON.parse((await start(['--list', '--json'])).stdout) as {
      batches: { batchId: string; status: string }[];
    };

    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${badId}\\s+unreadable record\\s+\\?\\s+\\?\\s+\\?`));
    expect(table.stdout).toMatch(/manifest\.json is not valid JSON/);
    expect(page.batches.find((batch) => batch.batchId === badId)?.status).toBe('unreadable');
    expect(page.batches.find((batch) => batch.batchId === good.batchId)?.status).toBe('done');
    await harness.s3.send(
      new DeleteObjectCommand({ Bucket: harness.config.bucket, Key: `images/${badId}/manifest.json` }),
    );
  });

  it.runIf(namespaces)(
    'on a full disk: fails the items that did not fit as store_failed naming the disk, records them, leaves no partial file, and --retry finishes once there is room',
    async () => {
      const folder = await mkdtemp(join(tmpdir(), 'cli-full-'));
      try {
        // A 3 MB disk of the command's own for `.data` (a tmpfs in a mount namespace); then 12 MB.
        const cli = `"$1" ${join(process.cwd(), '.build', 'cli.mjs')}`;
        const script = [
          'set -u',
          'mkdir -p .data && mount -t tmpfs -o size=3m tmpfs .data',
          `${cli} --count 40 --width 2500 --source offline > first.txt 2>&1; echo "$?" > first.code`,
          `${cli} --list --json > list.json`,
          'find .data -name "*.partial" | wc -l > partials.txt',
          'rm -rf .data/batches && mount -o remount,size=16m .data',
          `${cli} --retry "$(sed -n 's/.*--retry \\([^ ]*\\).*/\\1/p' first.txt | head -1)" --source offline > retry.txt 2>&1; echo "$?" > retry.code`,
        ].join('\n');
        await exec('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script, 'sh', process.execPath], {
          cwd: folder,
          env: { ...process.env, PICSUM_BASE_URL: '', BUCKET_NAME: '', S3_ENDPOINT: '' },
        });
        const read = (name: string) => readFile(join(folder, name), 'utf8');

        const first = await read('first.txt');
        const listed = JSON.parse(await read('list.json')) as { batches: { status: string; succeeded: number }[] };
        expect((await read('first.code')).trim()).toBe('3');
        expect(first).toMatch(
          /store_failed after 1 attempt\(s\): S3 (PutObject|CopyObject) failed: StorageFull \(HTTP 507\): The embedded S3's disk is full/,
        );
        expect(first).toMatch(/The disk is full: free space/);
        expect(first).toMatch(/Manifest: s3:\/\/picsum-batch\//);
        expect(listed.batches[0]).toMatchObject({ status: 'done' });
        expect(listed.batches[0]?.succeeded).toBeGreaterThan(0);
        expect((await read('partials.txt')).trim()).toBe('0');
        expect((await read('retry.code')).trim()).toBe('0');
        expect(await read('retry.txt')).toMatch(/Stored 40 of 40 images/);
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    },
  );

  it('refuses a request the catalog cannot satisfy with exit 2, before announcing or recording anything', async () => {
    const before = await harness.keys();

    const unknownId = await start(['--ids', '10,99999', '--width', '8', '--source', 'offline']);
    const tooMany = await start(['--distinct', '--count', '5000', '--width', '8', '--source', 'offline']);

    for (const refused of [unknownId, tooMany]) {
      expect(refused.code).toBe(2);
      expect(refused.stderr).not.toMatch(/Fetching/);
    }
    expect(unknownId.stderr).toMatch(/`ids`/);
    expect(tooMany.stderr).toMatch(/`count`|`distinct`/);
    expect((await harness.keys()).filter((key) => !key.endsWith('catalog.json'))).toEqual(
      before.filter((key) => !key.endsWith('catalog.json')),
    );
  });

  it('refuses an unknown flag with exit code 2', async () => {
    const { code, stderr } = await start(['--colour', 'red']);

    expect(code).toBe(2);
    expect(stderr).toMatch(/Unknown option '--colour'/);
  });

  it('on Ctrl-C stops, writes a manifest accounting for every item, prints the summary and exits 130', async () => {
    const slow = await startOfflinePicsum({ latencyMs: 20 });
    try {
      const child = spawn(
        process.execPath,
        ['.build/cli.mjs', '--count', '400', '--concurrency', '4', '--width', '24'],
        {
          env: cliEnv({ PICSUM_BASE_URL: slow.baseUrl, PICSUM_REDIRECT_HOSTS: slow.imageHost }),
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        // The first progress line (a tenth of the way): interrupt mid-batch, as a user would.
        if (/\d+\/400 done/.test(stderr) && child.signalCode === null && !child.killed) child.kill('SIGINT');
      });
      const [code] = await once(child, 'exit');

      expect(code).toBe(130);
      expect(stderr).toMatch(/SIGINT: cancelling/);
      // The progress after the cancel stays true: the cancelled items apart, never 400 of 400 done.
      expect(stderr).toMatch(/\d+\/400 done {2}stored \d+ {2}failed \d+ {2}cancelled \d+/);
      expect(stderr).not.toMatch(/400\/400 done/);
      expect(stdout).toMatch(/^Cancelled/m);
      expect(stdout).toMatch(
        /Unfinished: \d+ item\(s\)\. Run them again into this batch: npm start -- --retry \S+ --source /,
      );
      const manifestKey = /Manifest: s3:\/\/[^/]+\/(\S+)/.exec(stdout)?.[1] ?? '';
      const manifest = JSON.parse((await harness.object(manifestKey)).bytes.toString()) as Manifest;
      expect(manifest.result.status).toBe('cancelled');
      expect(manifest.items).toHaveLength(400);
      const stored = (await harness.keys()).filter(
        (key) => key.startsWith(manifest.result.prefix) && key.endsWith('.jpg'),
      );
      const recorded = manifest.items.flatMap((item) => (item.ok ? [item.key] : []));
      expect(stored.sort()).toEqual(recorded.sort());
      expect(recorded.length).toBeGreaterThan(0);
      expect(recorded.length).toBeLessThan(400);
      const unfinished = manifest.items.filter((item) => !item.ok);
      expect(unfinished.every((item) => !item.ok && item.reason === 'cancelled')).toBe(true);

      // --retry finishes it: the cancelled items only, into the same batch and manifest.
      const retried = await exec(process.execPath, ['.build/cli.mjs', '--retry', manifest.batchId, '--json'], {
        env: cliEnv({ PICSUM_BASE_URL: slow.baseUrl, PICSUM_REDIRECT_HOSTS: slow.imageHost }),
      });
      const result = JSON.parse(retried.stdout.trim().split('\n').at(-1) ?? '');
      expect(result).toMatchObject({
        batchId: manifest.batchId,
        requested: 400,
        succeeded: 400,
        failed: 0,
        retries: 1,
      });
      const complete = JSON.parse((await harness.object(manifestKey)).bytes.toString()) as Manifest;
      expect(complete.result).toEqual(result);
      const images = (await harness.keys()).filter((key) => key.startsWith(result.prefix) && key.endsWith('.jpg'));
      expect(images.sort()).toEqual(complete.items.flatMap((item) => (item.ok ? [item.key] : [])).sort());
      expect(new Set(images.map((key) => key.slice(result.prefix.length).split('-')[0])).size).toBe(400);
      // The items stored before Ctrl-C kept their outcome (and their first run).
      for (const before of manifest.items) if (before.ok) expect(complete.items[before.index]).toEqual(before);
    } finally {
      await slow.close();
    }
  });

  it('leaves a retry killed with SIGKILL unfinished, not running, and --retry finishes it', async () => {
    // One source (a batch keeps to one): missing every image at first, then slow enough to be killed mid-run.
    let missing = true;
    const slow = await startOfflinePicsum({
      latencyMs: 50,
      faults: () => (missing ? { kind: 'status', status: 404 } : undefined),
    });
    try {
      const env = cliEnv({ PICSUM_BASE_URL: slow.baseUrl, PICSUM_REDIRECT_HOSTS: slow.imageHost });
      // A batch whose items all fail (its source has none of them), then a retry of it.
      const failed = await exec(process.execPath, ['.build/cli.mjs', '--count', '40', '--concurrency', '1', '--json'], {
        env,
      }).catch((error: { stdout: string }) => error);
      missing = false;
      const { batchId } = JSON.parse(failed.stdout.trim().split('\n').at(-1) ?? '{}');
      await killMidRun(['--retry', batchId], env, /\d+\/40 done/);

      const listed = await listedAs(batchId, env);
      const finished = await exec(process.execPath, ['.build/cli.mjs', '--retry', batchId, '--json'], { env });

      expect(listed).toMatchObject({ status: 'unfinished' });
      expect(JSON.parse(finished.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({
        batchId,
        succeeded: 40,
        failed: 0,
        retries: 1,
      });
    } finally {
      await slow.close();
    }
  }, 60_000);

  it('runs a batch over CHUNK_SIZE on the state machine here; killed, it reads unfinished, and --retry finishes it', async () => {
    const slow = await startOfflinePicsum({ latencyMs: 20 });
    try {
      const env = cliEnv({ PICSUM_BASE_URL: slow.baseUrl, PICSUM_REDIRECT_HOSTS: slow.imageHost, CHUNK_SIZE: '100' });
      const stderr = await killMidRun(
        ['--count', '400', '--concurrency', '2', '--seed', 'killed'],
        env,
        /\d+\/400 done/,
      );
      const batchId = /as execution (\S+), in chunks/.exec(stderr)?.[1] ?? '';

      const listed = await listedAs(batchId, env);
      const finished = await exec(process.execPath, ['.build/cli.mjs', '--retry', batchId, '--json'], { env });

      expect(stderr).toMatch(/running it on the batch state machine, here/);
      expect(listed).toMatchObject({ batchId, status: 'unfinished', requested: 400 });
      const result = JSON.parse(finished.stdout.trim().split('\n').at(-1) ?? '{}');
      expect(result).toMatchObject({ batchId, requested: 400, succeeded: 400, failed: 0 });
      const manifest = JSON.parse((await harness.object(result.manifestKey)).bytes.toString()) as Manifest;
      expect(manifest.items).toHaveLength(400);
    } finally {
      await slow.close();
    }
  }, 60_000);
});

/** Runs the CLI with `args` and kills it with SIGKILL once its progress matches `progress`; its stderr. */
async function killMidRun(args: string[], env: NodeJS.ProcessEnv, progress: RegExp): Promise<string> {
  const child = spawn(process.execPath, ['.build/cli.mjs', ...args], { env });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (progress.test(stderr) && child.signalCode === null && !child.killed) child.kill('SIGKILL');
  });
  await once(child, 'exit');
  expect(child.signalCode).toBe('SIGKILL');
  return stderr;
}

/** The batch's row in `--list --json`. */
async function listedAs(batchId: string, env: NodeJS.ProcessEnv) {
  const { stdout } = await exec(process.execPath, ['.build/cli.mjs', '--list', '--json'], { env });
  return (JSON.parse(stdout) as { batches: { batchId: string }[] }).batches.find((row) => row.batchId === batchId);
}
