import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, Manifest } from '../../lambda/function/contracts/result.js';
import { checkOutFolder, writeBatchFolder } from '../../lambda/local/batch-folder.js';
import { type Harness, startHarness } from '../support/harness.js';

let harness: Harness;
let result: BatchResult;
let manifest: Manifest;
let scratch: string;

beforeAll(async () => {
  harness = await startHarness();
  const runtime = harness.runtime();
  const request = parseRequest({ count: 4, width: 16 }, harness.config);
  result = await runtime.batches.run(
    { batchId: '20261206T000000Z-f01de700', request },
    { deadlineAt: Date.now() + 60_000 },
  );
  manifest = (await runtime.batches.records.manifest(result.batchId)) as Manifest;
  scratch = await mkdtemp(join(tmpdir(), 'picsum-batch-folder-'));
});
afterAll(async () => {
  await harness?.close();
  await rm(scratch, { recursive: true, force: true });
});

/** Every file under `directory`, relative to it. */
const filesUnder = async (directory: string) => (await readdir(directory, { recursive: true })).sort();

describe("a batch's folder on disk", () => {
  it('copies every stored image under its name, with the manifest and the report', async () => {
    const folder = await writeBatchFolder(result.batchId, manifest, harness.runtime(), join(scratch, 'whole'));

    expect(folder.error).toBeUndefined();
    expect(folder.images).toBe(4);
    expect((await readdir(folder.folder)).length).toBe(6);
  });

  it('stops at the first write that fails, and leaves no partial file behind', async () => {
    const directory = join(scratch, 'failing');
    const first = manifest.items.find((item) => item.ok);
    const name = first?.ok ? first.key.slice(first.key.lastIndexOf('/') + 1) : '';
    // A folder where the copy's partial file would go: its write fails (EISDIR), as a full disk's would.
    await mkdir(join(directory, result.batchId, `${name}.partial`), { recursive: true });

    const folder = await writeBatchFolder(result.batchId, manifest, harness.runtime(), directory);

    expect(folder.error).toMatch(/EISDIR/);
    const left = await filesUnder(join(directory, result.batchId));
    expect(left.filter((file) => file.endsWith('.partial') && file !== `${name}.partial`)).toEqual([]);
  });

  it('ends a copy when its signal is aborted (Ctrl-C), leaving no partial file', async () => {
    const directory = join(scratch, 'cancelled');

    const folder = await writeBatchFolder(
      result.batchId,
      manifest,
      { ...harness.runtime(), signal: AbortSignal.abort() },
      directory,
    );

    expect(folder.error).toBe('cancelled');
    expect((await filesUnder(directory)).filter((file) => file.endsWith('.partial'))).toEqual([]);
  });
});

describe('--out, checked before a batch runs', () => {
  it('makes a missing folder, and takes a writable one', async () => {
    expect(await checkOutFolder(join(scratch, 'new', 'deep'), undefined)).toBe(join(scratch, 'new', 'deep'));
  });

  it('refuses a file, an empty name, /proc, a read-only folder and the data folder, naming --out', async () => {
    const file = join(scratch, 'file');
    await writeFile(file, 'x');
    const data = join(scratch, 'data', 's3');
    await mkdir(data, { recursive: true });
    const readOnly = join(scratch, 'read-only');
    await mkdir(readOnly);
    await chmod(readOnly, 0o500);

    const refusals = await Promise.all(
      [
        file,
        '',
        '/proc/self',
        join(data, 'picsum-batch'),
        join(scratch, 'data'),
        ...(process.getuid?.() === 0 ? [] : [readOnly]),
      ].map((out) =>
        checkOutFolder(out, data).then(
          () => 'taken',
          (error: { code: string; field: string }) => `${error.code} ${error.field}`,
        ),
      ),
    );

    expect(new Set(refusals)).toEqual(new Set(['INVALID_FLAG --out']));
  });
});
