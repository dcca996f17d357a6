import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, Manifest } from '../../lambda/function/contracts/result.js';
import { BatchRecords } from '../../lambda/function/orchestration/batch-records.js';
import { BatchService } from '../../lambda/function/orchestration/batch-service.js';
import { planBatch, recordFailure } from '../../lambda/function/orchestration/chunked/index.js';
import { refuseEndedRun } from '../../lambda/function/orchestration/ended-runs.js';
import { manifestKey, retryClaimKey, statusKey } from '../../lambda/function/storage/keys.js';
import { memoryS3 } from '../support/memory-s3.js';

const config = loadConfig({ BUCKET_NAME: 'b', KEY_PREFIX: 'p/', PICSUM_CATALOG: 'off' });
const request = parseRequest({ count: 8, width: 8 }, config);
const source = { dispatcher: () => ({}) as never, close: async () => {} };

/** A finished batch `id` in an in-memory bucket: its manifest, with `retries` runs merged. */
function finished(id: string, retries = 0) {
  const s3 = memoryS3();
  const manifest: Manifest = {
    version: 1,
    batchId: id,
    request,
    result: { batchId: id, status: 'done', requested: 8, succeeded: 8, failed: 0, retries } as BatchResult,
    items: [],
  };
  s3.objects.set(manifestKey(config, id), JSON.stringify(manifest));
  const before = new Map(s3.objects);
  return {
    s3,
    options: { config, deps: { s3, transfer: s3, source } },
    unchanged: () => expect(s3.objects).toEqual(before),
  };
}

describe('nothing but a claimed retry changes a finished batch', () => {
  it("refuses a plan for a finished batch's first run, writing nothing", async () => {
    const { options, unchanged } = finished('done1');

    await expect(planBatch({ batchId: 'done1', request }, 2, options)).rejects.toMatchObject({
      code: 'NOT_PLANNED',
      message: 'Batch done1 has ended (its manifest is written): only a retry adds to it',
    });
    unchanged();
  });

  it('refuses a retry job with no claim behind it, writing no status', async () => {
    const { options, unchanged } = finished('done2');
    const run = { ...options, deadlineAt: Date.now() + 60_000 };

    await expect(
      new BatchService(config, options.deps).run({ batchId: 'done2', request, retry: { run: 1, items: 2 } }, run),
    ).rejects.toThrow(/never claimed/);
    unchanged();
  });

  it('refuses a retry run the manifest already holds, and takes one it waits for', async () => {
    const { s3, options } = finished('done3', 1);
    const records = new BatchRecords(options);
    for (const run of [1, 2]) {
      s3.objects.set(retryClaimKey(config, 'done3', run), JSON.stringify({ run, indexes: [0], claimedAt: 'x' }));
    }

    await expect(refuseEndedRun({ batchId: 'done3', retry: { run: 1, items: 1 } }, records)).rejects.toThrow(
      /not one its manifest is waiting for/,
    );
    await expect(refuseEndedRun({ batchId: 'done3', retry: { run: 2, items: 1 } }, records)).resolves.toBeUndefined();
    await expect(refuseEndedRun({ batchId: 'fresh', request } as never, records)).resolves.toBeUndefined();
  });

  it('records no failure for a batch whose manifest stands, and says it ended already', async () => {
    const { s3, options, unchanged } = finished('done4');
    const failure = { kind: 'picsum-batch.failed' as const, batchId: 'done4', requested: 8, failure: { Error: 'X' } };

    const answer = await recordFailure(failure, options);

    expect(answer).toEqual({ again: true, status: { batchId: 'done4', status: 'done', result: expect.anything() } });
    expect(s3.objects.has(statusKey(config, 'done4'))).toBe(false);
    unchanged();
  });

  it("answers a cancelled batch's failure as cancelled, and one without a status in its result as done", async () => {
    const { s3, options } = finished('done5');
    const manifest = JSON.parse(s3.objects.get(manifestKey(config, 'done5')) ?? '');
    const failure = { kind: 'picsum-batch.failed' as const, batchId: 'done5', requested: 8, failure: {} };

    s3.objects.set(
      manifestKey(config, 'done5'),
      JSON.stringify({ ...manifest, result: { ...manifest.result, status: 'cancelled' } }),
    );
    expect((await recordFailure(failure, options)).status).toMatchObject({ status: 'cancelled' });
    const { status: _status, ...unstated } = manifest.result;
    s3.objects.set(manifestKey(config, 'done5'), JSON.stringify({ ...manifest, result: unstated }));
    expect((await recordFailure(failure, options)).status).toMatchObject({ status: 'done' });
  });

  it('records the failure of a retry run that was underway beside the manifest it leaves standing', async () => {
    for (const state of ['running'] as const) {
      const { s3, options } = finished('retried', 1);
      const record = { batchId: 'retried', status: state, requested: 8, retry: { run: 2, items: 3 } };
      s3.objects.set(statusKey(config, 'retried'), JSON.stringify(record));
      const failure = {
        kind: 'picsum-batch.failed' as const,
        batchId: 'retried',
        requested: 8,
        failure: { Error: 'X' },
      };

      const answer = await recordFailure(failure, options);

      expect(answer).toEqual({ status: expect.objectContaining({ status: 'failed', error: 'X' }) });
      expect(JSON.parse(s3.objects.get(statusKey(config, 'retried')) ?? '')).toMatchObject({ status: 'failed' });
    }
  });

  it('records the failure of a retry whose manifest has gone, rather than failing itself', async () => {
    const { s3, options } = finished('gone', 1);
    s3.objects.delete(manifestKey(config, 'gone'));
    const record = { batchId: 'gone', status: 'running', requested: 8, retry: { run: 2, items: 3 } };
    s3.objects.set(statusKey(config, 'gone'), JSON.stringify(record));
    const failure = { kind: 'picsum-batch.failed' as const, batchId: 'gone', requested: 8, failure: { Error: 'X' } };

    expect(await recordFailure(failure, options)).toEqual({ status: expect.objectContaining({ status: 'failed' }) });
  });

  it('names its error for the logs', async () => {
    const { options } = finished('done6');
    await expect(planBatch({ batchId: 'done6', request }, 2, options)).rejects.toMatchObject({ name: 'EndedRunError' });
  });

  it('takes a running record of an older retry, or of the first run, as no retry underway', async () => {
    for (const retry of [undefined, { run: 1, items: 3 }]) {
      const { s3, options } = finished('old', 1);
      const record = { batchId: 'old', status: 'running', requested: 8, ...(retry ? { retry } : {}) };
      s3.objects.set(statusKey(config, 'old'), JSON.stringify(record));
      const failure = { kind: 'picsum-batch.failed' as const, batchId: 'old', requested: 8, failure: { Error: 'X' } };

      expect(await recordFailure(failure, options)).toMatchObject({ again: true, status: { status: 'done' } });
    }
  });
});
