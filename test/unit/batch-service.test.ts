import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, BatchStatus, Manifest } from '../../lambda/function/contracts/result.js';
import type { BatchJob } from '../../lambda/function/orchestration/batch.js';
import {
  BatchService,
  type Ended,
  LaunchError,
  type Launchers,
} from '../../lambda/function/orchestration/batch-service.js';
import { ACCEPTED_WINDOW_MS } from '../../lambda/function/orchestration/lifecycle.js';
import { manifestKey, progressKey, retryClaimKey, statusKey } from '../../lambda/function/storage/keys.js';
import { memoryS3 } from '../support/memory-s3.js';

// No catalog: a batch here asks the source nothing before its first item, and a cancelled run
// fetches nothing at all, so these tests start no server.
const config = loadConfig({
  BUCKET_NAME: 'b',
  KEY_PREFIX: 'p/',
  MAX_COUNT: '50',
  SYNC_MAX_COUNT: '2',
  CHUNK_SIZE: '4',
  HEAL_DELAY_S: '60',
  PICSUM_CATALOG: 'off',
});
const source = { dispatcher: () => ({}) as never, close: async () => {} };

/** A batch service over an in-memory bucket, with launchers that record what they are given, and the batches it announced. */
function serviceWith(launchers: Launchers = {}) {
  const s3 = memoryS3();
  const announced: Ended[] = [];
  const service = new BatchService(config, { s3, source }, launchers, async (ended) => void announced.push(ended));
  return {
    service,
    announced,
    objects: s3.objects,
    record: (key: string) => JSON.parse(s3.objects.get(key) ?? 'null'),
  };
}

/** Launchers that remember each job they launch. */
function recording() {
  const launched: { job: string[]; chunked: string[]; heal: { batchId: string; delaySeconds: number }[] } = {
    job: [],
    chunked: [],
    heal: [],
  };
  const launchers: Launchers = {
    job: async (job) => void launched.job.push(job.batchId),
    chunked: async (job) => void launched.chunked.push(job.batchId),
    heal: async (heal) => void launched.heal.push(heal),
  };
  return { launched, launchers };
}

const jobOf = (batchId: string, count: number, extra: Partial<BatchJob> = {}): BatchJob => ({
  batchId,
  request: parseRequest({ count, width: 8 }, config),
  ...extra,
});

/** Run options under which a batch here ends at once, every item `cancelled`, its manifest written. */
const cancelledHere = (hereUpTo: number) => ({
  hereUpTo,
  deadlineAt: Date.now() + 60_000,
  cancel: AbortSignal.abort(),
});

const manifestOf = (batchId: string, result: Partial<BatchResult> = {}): Manifest => ({
  version: 1,
  batchId,
  request: parseRequest({ count: 2, width: 8 }, config),
  result: {
    batchId,
    requested: 2,
    succeeded: 2,
    failed: 0,
    retries: 0,
    elapsedMs: 10,
    startedAt: '2026-11-25T00:00:00.000Z',
    finishedAt: '2026-11-25T00:00:01.000Z',
    ...result,
  } as BatchResult,
  items: [],
});

describe('BatchService: where a batch runs', () => {
  it("runs a job here up to the caller's limit, and never past CHUNK_SIZE", () => {
    const { service } = serviceWith();
    expect(service.runsHere(jobOf('a', 2), 2)).toBe(true);
    expect(service.runsHere(jobOf('a', 3), 2)).toBe(false);
    expect(service.runsHere(jobOf('a', 4), 100)).toBe(true);
    expect(service.runsHere(jobOf('a', 5), 100)).toBe(false);
    // A retry's size is its unfinished items, not the batch's.
    expect(service.runsHere(jobOf('a', 9, { retry: { run: 1, items: 2 } }), 2)).toBe(true);
  });

  it('starts a job it may run here in this process, its manifest written, and launches nothing', async () => {
    const { launched, launchers } = recording();
    const { service, record } = serviceWith(launchers);
    const started = await service.start(jobOf('here', 2), cancelledHere(2));
    expect(started).toMatchObject({ ranNow: true, result: { batchId: 'here', status: 'cancelled', requested: 2 } });
    expect(record(manifestKey(config, 'here'))).toMatchObject({ batchId: 'here' });
    expect(launched).toEqual({ job: [], chunked: [], heal: [] });
  });

  it('accepts a larger one and launches it as a job, or over CHUNK_SIZE on the chunked path', async () => {
    const { launched, launchers } = recording();
    const { service, record } = serviceWith(launchers);
    const job = await service.start(jobOf('job', 3), cancelledHere(2));
    const chunked = await service.start(jobOf('chunked', 5), cancelledHere(100));
    expect(job).toMatchObject({ ranNow: false, answer: { batchId: 'job', status: 'accepted', requested: 3 } });
    expect(chunked).toMatchObject({ ranNow: false, answer: { batchId: 'chunked', status: 'accepted' } });
    expect(launched.job).toEqual(['job']);
    expect(launched.chunked).toEqual(['chunked']);
    const accepted = record(statusKey(config, 'job')) as Extract<BatchStatus, { status: 'accepted' }>;
    expect(accepted.status).toBe('accepted');
    expect(Date.parse(accepted.expiresAt) - Date.parse(accepted.acceptedAt)).toBe(ACCEPTED_WINDOW_MS);
  });

  it('records a batch whose launch failed as failed, and throws a LaunchError naming why', async () => {
    const { service, record } = serviceWith({
      job: async () => {
        throw new Error('Rate exceeded');
      },
    });
    const failing = service.accept(jobOf('f', 3));
    await expect(failing).rejects.toThrow(LaunchError);
    await expect(failing).rejects.toThrow('Batch f could not be started: Rate exceeded');
    expect(record(statusKey(config, 'f'))).toMatchObject({
      status: 'failed',
      error: 'launch_failed',
      requested: 3,
      cause: 'Batch f could not be started: Rate exceeded',
    });
  });

  it('launches a job of exactly CHUNK_SIZE items as a job, and runs one here in one piece', async () => {
    const { launched, launchers } = recording();
    const { service, record } = serviceWith(launchers);
    await service.accept(jobOf('edge', 4));
    expect(launched).toMatchObject({ job: ['edge'], chunked: [] });
    await service.run(jobOf('whole', 4), cancelledHere(4));
    // One piece: a running record (the manifest says it is done), and no chunk's progress.
    expect(record(statusKey(config, 'whole'))).toMatchObject({ status: 'running' });
    expect(record(progressKey(config, 'whole', 0))).toBeNull();
  });

  it('names the missing setting when an entry cannot launch a kind of batch', async () => {
    const { service } = serviceWith();
    await expect(service.accept(jobOf('j', 3))).rejects.toThrow(/RUNS_FUNCTION_NAME is not set/);
    await expect(service.accept(jobOf('c', 5))).rejects.toThrow(/STATE_MACHINE_ARN is not set/);
  });

  it('announces each batch it runs here once, as it ends (whole or in chunks), and one ended elsewhere when told', async () => {
    const { service, announced } = serviceWith();
    const whole = await service.run(jobOf('whole', 2), cancelledHere(100));
    const chunked = await service.run(jobOf('chunked', 6), cancelledHere(100));
    expect(announced).toEqual([whole, chunked]);
    const failed: Ended = {
      batchId: 'elsewhere',
      status: 'failed',
      requested: 40,
      error: 'Lambda.Unknown',
      cause: 'its plan died',
      failedAt: '2026-12-04T00:00:00.000Z',
    };
    await service.ended(failed);
    expect(announced).toEqual([whole, chunked, failed]);
    // Without an announcer (locally, or no EVENT_SOURCE) batches end as ever.
    const unannounced = new BatchService(config, { s3: memoryS3(), source });
    await expect(unannounced.run(jobOf('quiet', 2), cancelledHere(100))).resolves.toMatchObject({ batchId: 'quiet' });
    await expect(unannounced.ended(failed)).resolves.toBeUndefined();
  });

  it('runs a job over CHUNK_SIZE here chunk after chunk, when asked to run it here', async () => {
    const { service, record } = serviceWith();
    const result = await service.run(jobOf('big', 6), cancelledHere(100));
    expect(result).toMatchObject({ batchId: 'big', requested: 6, status: 'cancelled' });
    // The chunked path's records: a plan, then the chunks' progress.
    expect(record(progressKey(config, 'big', 0))).toMatchObject({ chunk: 0, finished: true });
    expect(record(statusKey(config, 'big'))).toMatchObject({ status: 'done' });
  });

  it('keeps a local run on a lease: its running record expires a minute after it was written', async () => {
    const { service, objects } = serviceWith();
    const seen: BatchStatus[] = [];
    const set = objects.set.bind(objects);
    objects.set = (key, value) => {
      if (key === statusKey(config, 'leased')) seen.push(JSON.parse(value));
      return set(key, value);
    };
    const before = Date.now();
    await service.run(jobOf('leased', 2), {
      deadlineAt: Date.now() + 3_600_000,
      cancel: AbortSignal.abort(),
      lease: true,
    });
    const running = seen[0] as Extract<BatchStatus, { status: 'running' }>;
    expect(running.status).toBe('running');
    // Leased: about a minute from now, not the deadline's hour and its grace.
    expect(Date.parse(running.expiresAt ?? '') - before).toBeLessThan(5 * 60_000);
    expect(Date.parse(running.expiresAt ?? '') - before).toBeGreaterThanOrEqual(60_000);
  });
});

describe('BatchService: deliveries that may repeat', () => {
  it('answers the result of a job whose manifest says it ran, and runs nothing', async () => {
    const { service, objects } = serviceWith();
    objects.set(manifestKey(config, 'ran'), JSON.stringify(manifestOf('ran')));
    const again = await service.startOnce(jobOf('ran', 2), cancelledHere(4));
    expect(again).toEqual({ ranNow: false, answer: manifestOf('ran').result });
  });

  it('runs a retry whose run the manifest has not recorded yet, and not one it has', async () => {
    const { service, objects } = serviceWith();
    objects.set(manifestKey(config, 'r'), JSON.stringify(manifestOf('r', { retries: 1 })));
    const recorded = await service.startOnce(jobOf('r', 2, { retry: { run: 1, items: 1 } }), cancelledHere(4));
    expect(recorded.ranNow).toBe(false);
    const next = service.startOnce(jobOf('r', 2, { retry: { run: 2, items: 1 } }), cancelledHere(4));
    // Retry 2 has no claim to run from: it tries, which is what this asserts.
    await expect(next).rejects.toThrow(/Retry 2 of batch r was never claimed/);
  });

  it('runs a first delivery here', async () => {
    const { service } = serviceWith();
    expect(await service.startOnce(jobOf('first', 2), cancelledHere(4))).toMatchObject({ ranNow: true });
  });

  it('launches a job too large to run here once: a delivery again finds it, unless its launch failed', async () => {
    const { launched, launchers } = recording();
    const { service, objects } = serviceWith(launchers);
    const first = await service.startOnce(jobOf('big', 5), cancelledHere(4));
    const again = await service.startOnce(jobOf('big', 5), cancelledHere(4));
    expect(first).toMatchObject({ ranNow: false, answer: { status: 'accepted' } });
    expect(again).toMatchObject({ ranNow: false, answer: { status: 'accepted' } });
    expect(launched.chunked).toEqual(['big']);

    objects.set(
      statusKey(config, 'big'),
      JSON.stringify({
        batchId: 'big',
        status: 'failed',
        requested: 5,
        error: 'launch_failed',
        cause: 'x',
        failedAt: 'y',
      }),
    );
    await service.startOnce(jobOf('big', 5), cancelledHere(4));
    expect(launched.chunked).toEqual(['big', 'big']);
  });

  it('claims the relaunch of a batch that never started once, however many claim it', async () => {
    const { service, record } = serviceWith();
    const job = jobOf('never', 3);
    const claims = await Promise.all([service.claimRelaunch(job), service.claimRelaunch(job)]);
    expect(claims.sort()).toEqual([false, true]);
    expect(record(statusKey(config, 'never'))).toMatchObject({ status: 'accepted' });
    // Accepted now: nothing left to claim.
    expect(await service.claimRelaunch(job)).toBe(false);
  });

  it('claims the relaunch of a batch whose launch failed, and no other failed batch', async () => {
    const { service, objects } = serviceWith();
    const failed = (error: string) =>
      JSON.stringify({ batchId: 'x', status: 'failed', requested: 3, error, cause: 'c', failedAt: 'f' });
    await service.records.putStatus(JSON.parse(failed('launch_failed')));
    expect(await service.claimRelaunch(jobOf('x', 3))).toBe(true);
    await service.records.putStatus(JSON.parse(failed('interrupted')));
    expect(await service.claimRelaunch(jobOf('x', 3))).toBe(false);
    expect(JSON.parse(objects.get(statusKey(config, 'x')) ?? '')).toMatchObject({ error: 'interrupted' });
  });
});

describe("BatchService: a batch's status", () => {
  const now = Date.now();
  const later = new Date(now + 600_000).toISOString();
  const earlier = new Date(now - 1_000).toISOString();

  it('is its record when that says done or cancelled, without reading the manifest', async () => {
    const { service } = serviceWith();
    for (const status of ['done', 'cancelled'] as const) {
      const record = { batchId: 'd', status, result: manifestOf('d').result };
      await service.records.putStatus(record);
      let read = false;
      const answer = await service.status('d', async () => {
        read = true;
        return undefined;
      });
      expect(answer).toEqual(record);
      expect(read).toBe(false);
    }
  });

  it("is the manifest's result once there is one, done unless it says otherwise", async () => {
    const { service, objects } = serviceWith();
    objects.set(manifestKey(config, 'm'), JSON.stringify(manifestOf('m')));
    expect(await service.status('m')).toEqual({ batchId: 'm', status: 'done', result: manifestOf('m').result });
    objects.set(manifestKey(config, 'm'), JSON.stringify(manifestOf('m', { status: 'cancelled' })));
    expect(await service.status('m')).toMatchObject({ status: 'cancelled' });
  });

  it("is a retry's record while the retry is under way, and the manifest once its record expired", async () => {
    const { service, objects } = serviceWith();
    objects.set(manifestKey(config, 'r'), JSON.stringify(manifestOf('r', { retries: 1 })));
    const retrying = {
      batchId: 'r',
      status: 'running' as const,
      requested: 2,
      done: 0,
      succeeded: 0,
      failed: 0,
      expiresAt: later,
      retry: { run: 2, items: 1 },
    };
    await service.records.putStatus(retrying);
    expect(await service.status('r')).toEqual(retrying);
    // A record of an earlier run than the manifest's: the manifest answers.
    await service.records.putStatus({ ...retrying, retry: { run: 1, items: 1 } });
    expect(await service.status('r')).toMatchObject({ status: 'done' });
    // A run without a retry: the manifest answers.
    const { retry: _none, ...plain } = retrying;
    await service.records.putStatus(plain);
    expect(await service.status('r')).toMatchObject({ status: 'done' });
    await service.records.putStatus({ ...retrying, expiresAt: earlier });
    expect(await service.status('r')).toMatchObject({ status: 'done', result: { retries: 1 } });
    await service.records.putStatus({ ...retrying, status: 'accepted', acceptedAt: earlier } as BatchStatus);
    expect(await service.status('r')).toMatchObject({ status: 'accepted' });
  });

  it("sums a chunked run's progress records; reads an expired record as interrupted; knows no unknown batch", async () => {
    const { service, objects } = serviceWith();
    const planned = {
      batchId: 'c',
      status: 'running' as const,
      requested: 8,
      done: 0,
      succeeded: 0,
      failed: 0,
      chunks: { total: 2, done: 0 },
      plannedAt: earlier,
    };
    await service.records.putStatus(planned);
    objects.set(
      progressKey(config, 'c', 0),
      JSON.stringify({ chunk: 0, done: 4, succeeded: 3, failed: 1, finished: true }),
    );
    objects.set(progressKey(config, 'c', 1), JSON.stringify({ chunk: 1, done: 1, succeeded: 1, failed: 0 }));
    expect(await service.status('c')).toMatchObject({
      done: 5,
      succeeded: 4,
      failed: 1,
      chunks: { total: 2, done: 1 },
    });

    await service.records.putStatus({
      batchId: 'e',
      status: 'accepted',
      requested: 1,
      acceptedAt: earlier,
      expiresAt: earlier,
    });
    expect(await service.status('e')).toMatchObject({ status: 'failed', error: 'interrupted' });
    expect(await service.status('none')).toBeUndefined();
  });
});

describe('BatchService: healing', () => {
  const failedItems = (batchId: string): Manifest => ({
    ...manifestOf(batchId, { succeeded: 1, failed: 1, source: config.source }),
    items: [
      { index: 0, ok: true, key: `p/${batchId}/00-1.jpg`, bytes: 1, latencyMs: 1, attempts: 1, sha256: 'x' } as never,
      { index: 1, ok: false, reason: 'timeout', attempts: 1, latencyMs: 1 } as never,
    ],
  });

  it('starts a heal after HEAL_DELAY_S with the launcher it was given, and none without one', async () => {
    const { launched, launchers } = recording();
    const { service } = serviceWith(launchers);
    await service.healLater('h');
    expect(launched.heal).toEqual([{ batchId: 'h', delaySeconds: 60 }]);
    await expect(serviceWith().service.healLater('h')).resolves.toBeUndefined();
  });

  it('retries the unfinished items here, answers the result when none is left, the status when busy', async () => {
    const { service, objects } = serviceWith();
    objects.set(manifestKey(config, 'h'), JSON.stringify(failedItems('h')));
    const healed = await service.heal('h', cancelledHere(4));
    expect(healed).toMatchObject({ ranNow: true, result: { batchId: 'h', retries: 1 } });
    expect(JSON.parse(objects.get(retryClaimKey(config, 'h', 1)) ?? '')).toMatchObject({ indexes: [1] });

    objects.set(manifestKey(config, 'whole'), JSON.stringify(manifestOf('whole')));
    expect(await service.heal('whole', cancelledHere(4))).toEqual({
      ranNow: false,
      answer: manifestOf('whole').result,
    });

    objects.set(manifestKey(config, 'busy'), JSON.stringify(failedItems('busy')));
    await service.records.putStatus({
      batchId: 'busy',
      status: 'running',
      requested: 2,
      done: 0,
      succeeded: 0,
      failed: 0,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      retry: { run: 1, items: 1 },
    });
    expect(await service.heal('busy', cancelledHere(4))).toMatchObject({
      ranNow: false,
      answer: { status: 'running' },
    });
  });

  it('refuses to heal a batch it cannot: unknown, without a manifest, of another source', async () => {
    const { service, objects } = serviceWith();
    await expect(service.heal('nope', cancelledHere(4))).rejects.toThrow(
      'Cannot heal batch nope: there is no such batch',
    );
    await service.records.putStatus({
      batchId: 'lost',
      status: 'failed',
      requested: 2,
      error: 'interrupted',
      cause: 'c',
      failedAt: 'f',
    });
    await expect(service.heal('lost', cancelledHere(4))).rejects.toThrow(
      'Cannot heal batch lost: it ended without a manifest',
    );
    const offline = failedItems('o');
    objects.set(
      manifestKey(config, 'o'),
      JSON.stringify({ ...offline, result: { ...offline.result, source: 'offline' } }),
    );
    await expect(service.heal('o', cancelledHere(4))).rejects.toThrow(
      'Cannot heal batch o: it was fetched from offline, not picsum.photos',
    );
  });
});

describe('BatchService: listing', () => {
  it("lists the bucket's batches with their status", async () => {
    const { service, objects } = serviceWith();
    objects.set(
      manifestKey(config, '20261125T000000Z-aaaaaaaa'),
      JSON.stringify(manifestOf('20261125T000000Z-aaaaaaaa')),
    );
    const page = await service.list();
    expect(page.batches).toMatchObject([{ batchId: '20261125T000000Z-aaaaaaaa', status: 'done' }]);
  });

  it('lists a batch whose record is not JSON or names another batch as unreadable, and the rest as ever', async () => {
    const { service, objects } = serviceWith();
    const good = '20261125T000000Z-aaaaaaaa';
    objects.set(manifestKey(config, good), JSON.stringify(manifestOf(good)));
    objects.set(manifestKey(config, '20261125T000001Z-bbbbbbbb'), '{"batchId":');
    objects.set(manifestKey(config, '20261125T000002Z-cccccccc'), JSON.stringify(manifestOf(good)));

    const page = await service.list();

    expect(page.batches).toEqual([
      {
        batchId: '20261125T000002Z-cccccccc',
        status: 'unreadable',
        createdAt: '2026-11-25T00:00:02.000Z',
        error: expect.stringMatching(/does not check out: `batchId`/),
      },
      {
        batchId: '20261125T000001Z-bbbbbbbb',
        status: 'unreadable',
        createdAt: '2026-11-25T00:00:01.000Z',
        error: 's3://b/p/20261125T000001Z-bbbbbbbb/manifest.json is not valid JSON',
      },
      expect.objectContaining({ batchId: good, status: 'done' }),
    ]);
  });

  it('lists the images a failed batch left without a manifest as unrecorded, never as none', async () => {
    const { service, objects } = serviceWith();
    const batchId = '20261125T000000Z-dddddddd';
    const failed = { batchId, status: 'failed', requested: 3, error: 'interrupted', cause: 'x', failedAt: 'z' };
    objects.set(statusKey(config, batchId), JSON.stringify(failed));
    objects.set(`p/${batchId}/0-10.jpg`, 'x');
    objects.set(`p/${batchId}/1-11.jpg`, 'x');
    objects.set(`p/${batchId}/progress/0.json`, '{}');

    const page = await service.list();

    expect(page.batches).toMatchObject([{ batchId, status: 'failed', succeeded: 0, unrecorded: 2 }]);
  });

  it('counts unrecorded images only for a failed batch that left some, and leaves out a folder with no record', async () => {
    const { service, objects } = serviceWith();
    const failedId = '20261125T000000Z-eeeeeeee';
    const doneId = '20261125T000001Z-ffffffff';
    objects.set(
      statusKey(config, failedId),
      JSON.stringify({
        batchId: failedId,
        status: 'failed',
        requested: 3,
        error: 'interrupted',
        cause: 'x',
        failedAt: 'z',
      }),
    );
    objects.set(`p/${failedId}/progress/0.json`, '{}');
    objects.set(manifestKey(config, doneId), JSON.stringify(manifestOf(doneId)));
    objects.set(`p/${doneId}/0-10.jpg`, 'x');
    objects.set('p/20261125T000002Z-00000000/0-10.jpg', 'x');

    const page = await service.list();

    expect(page.batches.map((batch) => batch.batchId)).toEqual([doneId, failedId]);
    for (const batch of page.batches) expect(batch).not.toHaveProperty('unrecorded');
  });

  it('fails the listing when the bucket fails, rather than calling every batch unreadable', async () => {
    const memory = memoryS3();
    const id = '20261125T000000Z-aaaaaaaa';
    memory.objects.set(manifestKey(config, id), JSON.stringify(manifestOf(id)));
    // The folders list; reading a record fails as a bug would (not a RecordError).
    const s3 = {
      send: async (command: unknown) => {
        if ((command as { input: { Delimiter?: string } }).input.Delimiter) return memory.send(command);
        throw new TypeError('down');
      },
    };
    const failing = new BatchService(config, { s3: s3 as never, source });

    await expect(failing.list()).rejects.toThrow('down');
  });
});

describe("BatchRecords: a manifest's checks", () => {
  const id = '20261125T000000Z-aaaaaaaa';
  const stored = (index: number, key: string) => ({ index, ok: true, key, sha256: 'h', bytes: 1 });
  const read = (manifest: object) => {
    const { service, objects } = serviceWith();
    objects.set(manifestKey(config, id), JSON.stringify(manifest));
    return service.records.manifest(id).then(
      (value) => value,
      (error: { code: string; field?: string; message: string }) => error,
    );
  };

  it("takes a manifest of this batch whose stored items' keys are its images", async () => {
    const manifest = { ...manifestOf(id), items: [stored(0, `p/${id}/0-10.jpg`), { index: 1, ok: false }] };
    expect(await read(manifest)).toEqual(manifest);
  });

  it('refuses one naming another batch, at its top or in its result, naming the field', async () => {
    const other = manifestOf('20261125T000000Z-bbbbbbbb');
    expect(await read(other)).toMatchObject({
      code: 'RECORD_INVALID',
      field: 'batchId, result.batchId',
      message: expect.stringMatching(new RegExp(`^s3://b/p/${id}/manifest.json does not check out: \`batchId\` .+`)),
    });
    expect(await read({ ...manifestOf(id), result: other.result })).toMatchObject({ field: 'result.batchId' });
    expect(((await read(other)) as { message: string }).message).toMatch(/: `batchId` .+; `result\.batchId` .+/);
  });

  it("refuses a stored item's key outside the batch's folder, or not an image name directly in it", async () => {
    const keys = [`p/${id}/sub/0-10.jpg`, `p/${id}/0-10.jpg.sh`, `x/p/${id}/0-10.jpg`, `p/${id}/../other/0-1.jpg`];
    const long = `p/${id}/${'x'.repeat(300)}`;
    expect(await read({ ...manifestOf(id), items: [stored(0, long)] })).toMatchObject({
      message: expect.stringContaining(`${JSON.stringify(long.slice(0, 200))} is not an image`),
    });
    for (const key of keys) {
      expect(await read({ ...manifestOf(id), items: [stored(0, `p/${id}/0-10.jpg`), stored(1, key)] })).toMatchObject({
        code: 'RECORD_INVALID',
        field: 'items.1.key',
        message: `s3://b/p/${id}/manifest.json does not check out: \`items.1.key\` ${JSON.stringify(key)} is not an image of batch ${id}`,
      });
    }
  });
});

describe('BatchRecords', () => {
  it("counts the objects in a batch's folder, whatever they are", async () => {
    const { service, objects } = serviceWith();
    objects.set('p/a/one.jpg', 'x');
    objects.set('p/a/manifest.json', '{}');
    objects.set('p/ab/other.jpg', 'x');
    expect(await service.records.objectCount('a')).toBe(2);
    expect(await service.records.objectCount('none')).toBe(0);
  });
});
