import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, BatchStatus, Manifest } from '../../lambda/function/contracts/result.js';
import type { BatchJob } from '../../lambda/function/orchestration/batch.js';
import { BatchService, type Ended, LaunchError } from '../../lambda/function/orchestration/batch-service.js';
import { type BatchEngine, type Execution, ExecutionExistsError } from '../../lambda/function/orchestration/engine.js';
import type { RunRecord } from '../../lambda/function/orchestration/lifecycle.js';
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
  PICSUM_CATALOG: 'off',
});
const source = { dispatcher: () => ({}) as never, close: async () => {} };

/**
 * The engine port in memory, with Step Functions' rules for names: a name running with the same
 * input answers as started, one that ran refuses. A test sets what it says of an execution.
 */
function memoryEngine() {
  const executions = new Map<string, { execution: Execution; input: string }>();
  const starts: string[] = [];
  let refusal: Error | undefined;
  const engine: BatchEngine = {
    async start(name, job) {
      starts.push(name);
      if (refusal) throw refusal;
      const input = JSON.stringify(job);
      const known = executions.get(name);
      if (known && (known.execution.status !== 'RUNNING' || known.input !== input))
        throw new ExecutionExistsError(name);
      if (!known) {
        executions.set(name, {
          execution: { status: 'RUNNING', startedAt: '2026-12-06T00:00:00.000Z', requested: job.request.count },
          input,
        });
      }
    },
    async describe(name) {
      return executions.get(name)?.execution;
    },
  };
  return {
    engine,
    starts,
    refuse(error: Error | undefined) {
      refusal = error;
    },
    set(name: string, execution: Execution) {
      executions.set(name, { execution, input: '' });
    },
  };
}

/** A batch service over an in-memory bucket and engine, and the batches it announced. */
function serviceWith(options: { engine?: false } = {}) {
  const s3 = memoryS3();
  const announced: Ended[] = [];
  const engine = memoryEngine();
  const service = new BatchService(
    config,
    { s3, transfer: s3, source },
    options.engine === false ? undefined : engine.engine,
    async (ended) => void announced.push(ended),
  );
  return {
    service,
    engine,
    announced,
    objects: s3.objects,
    record: (key: string) => JSON.parse(s3.objects.get(key) ?? 'null'),
  };
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

/** A run record as a run writes it: running, with its request; `execution` when the engine runs it. */
const runRecord = (batchId: string, extra: Partial<RunRecord> = {}): RunRecord => ({
  batchId,
  status: 'running',
  requested: 2,
  done: 0,
  succeeded: 0,
  failed: 0,
  request: parseRequest({ count: 2, width: 8 }, config),
  startedAt: '2026-12-06T00:00:00.000Z',
  ...extra,
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

  it('starts a job it may run here in this process, its manifest written, and starts nothing on the engine', async () => {
    const { service, record, engine } = serviceWith();
    const started = await service.start(jobOf('here', 2), cancelledHere(2));
    expect(started).toMatchObject({ ranNow: true, result: { batchId: 'here', status: 'cancelled', requested: 2 } });
    expect(record(manifestKey(config, 'here'))).toMatchObject({ batchId: 'here' });
    expect(engine.starts).toEqual([]);
  });

  it('starts a larger one on the engine, as the execution named after it (and its retry run), writing nothing', async () => {
    const { service, engine, objects } = serviceWith();
    const big = await service.start(jobOf('big', 3), cancelledHere(2));
    const retry = await service.start(jobOf('r', 9, { retry: { run: 2, items: 5 } }), cancelledHere(100));
    expect(big).toMatchObject({ ranNow: false, answer: { batchId: 'big', status: 'accepted', requested: 3 } });
    expect(retry).toMatchObject({ ranNow: false, answer: { batchId: 'r', status: 'accepted', retry: { run: 2 } } });
    expect(engine.starts).toEqual(['big', 'r-retry-2']);
    expect([...objects.keys()]).toEqual([]);
  });

  it('starts a repeat of a running batch as the same execution, and answers one of a batch that ran with its status', async () => {
    const { service, engine, objects } = serviceWith();
    await service.accept(jobOf('again', 3));
    await expect(service.accept(jobOf('again', 3))).resolves.toMatchObject({ status: 'accepted' });
    engine.set('again', { status: 'SUCCEEDED', startedAt: 'x' });
    // Nothing tells how it ended: a start refused is a start failed.
    await expect(service.accept(jobOf('again', 3))).rejects.toThrow(LaunchError);
    // Its manifest does: a repeat that raced the whole run is answered the batch's status.
    objects.set(manifestKey(config, 'again'), JSON.stringify(manifestOf('again')));
    await expect(service.accept(jobOf('again', 3))).resolves.toMatchObject({ batchId: 'again', status: 'done' });
  });

  it('throws a LaunchError naming why when the engine refuses, and writes nothing', async () => {
    const { service, engine, objects } = serviceWith();
    engine.refuse(new Error('Rate exceeded'));
    const failing = service.accept(jobOf('f', 3));
    await expect(failing).rejects.toThrow(LaunchError);
    await expect(failing).rejects.toThrow('Batch f could not be started: Rate exceeded');
    expect([...objects.keys()]).toEqual([]);
  });

  it('names the missing setting when there is no engine, and writes nothing', async () => {
    const { service, objects } = serviceWith({ engine: false });
    await expect(service.accept(jobOf('j', 3))).rejects.toThrow(/STATE_MACHINE_ARN is not set/);
    expect([...objects.keys()]).toEqual([]);
  });

  it('announces each batch it runs here once, as it ends, and one ended elsewhere when told', async () => {
    const { service, announced } = serviceWith();
    const whole = await service.run(jobOf('whole', 2), cancelledHere(100));
    expect(announced).toEqual([whole]);
    const failed: Ended = {
      batchId: 'elsewhere',
      status: 'failed',
      requested: 40,
      error: 'Lambda.Unknown',
      cause: 'its plan died',
      failedAt: '2026-12-04T00:00:00.000Z',
    };
    await service.ended(failed);
    expect(announced).toEqual([whole, failed]);
    // Without an announcer (no EVENT_SOURCE) batches end as ever.
    const unannounced = new BatchService(config, { s3: memoryS3(), transfer: memoryS3(), source });
    await expect(unannounced.run(jobOf('quiet', 2), cancelledHere(100))).resolves.toMatchObject({ batchId: 'quiet' });
    await expect(unannounced.ended(failed)).resolves.toBeUndefined();
  });

  it('keeps a run record with its request while a batch runs here, with no expiry, and reads it as running meanwhile', async () => {
    const { service, objects } = serviceWith();
    const seen: Promise<BatchStatus | undefined>[] = [];
    const set = objects.set.bind(objects);
    objects.set = (key, value) => {
      const result = set(key, value);
      if (key === statusKey(config, 'live')) seen.push(service.status('live'));
      return result;
    };
    await service.run(jobOf('live', 2), cancelledHere(2));
    objects.set = set;
    const record = JSON.parse(objects.get(statusKey(config, 'live')) ?? '');
    expect(record).toMatchObject({ status: 'running', request: { count: 2 } });
    expect(record).not.toHaveProperty('expiresAt');
    const statuses = await Promise.all(seen);
    expect(statuses[0]).toMatchObject({ batchId: 'live', status: 'running' });
    expect(statuses[0]).not.toHaveProperty('request');
    // Ended here: the manifest answers.
    expect(await service.status('live')).toMatchObject({ status: 'cancelled' });
  });
});

describe("BatchService: a batch's status", () => {
  it('reads a run here as unfinished once it ended without its manifest: nothing runs it any more', async () => {
    const { service, objects } = serviceWith();
    const set = objects.set.bind(objects);
    objects.set = (key, value) => {
      if (key === manifestKey(config, 'lost')) throw Object.assign(new Error('SlowDown'), { name: 'SlowDown' });
      return set(key, value);
    };
    const result = await service.run(jobOf('lost', 2), cancelledHere(2));
    expect(result.manifestError).toBeDefined();
    expect(await service.status('lost')).toMatchObject({ status: 'unfinished' });
  });

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

  it("is a retry's while its execution runs, failed when that failed, and the manifest's for an earlier run", async () => {
    const { service, objects, engine } = serviceWith();
    objects.set(manifestKey(config, 'r'), JSON.stringify(manifestOf('r', { retries: 1 })));
    const retrying = runRecord('r', { retry: { run: 2, items: 1 }, execution: 'r-retry-2' });
    await service.records.putStatus(retrying);
    engine.set('r-retry-2', { status: 'RUNNING', startedAt: 'x' });
    // A run without chunks on the state machine: its record's counts, no progress records read.
    objects.set(progressKey(config, 'r', 0, 2), JSON.stringify({ chunk: 0, done: 9, succeeded: 9, failed: 0 }));
    expect(await service.status('r')).toEqual({
      batchId: 'r',
      status: 'running',
      requested: 2,
      done: 0,
      succeeded: 0,
      failed: 0,
      retry: { run: 2, items: 1 },
      execution: 'r-retry-2',
    });
    engine.set('r-retry-2', { status: 'FAILED', startedAt: 'x', stoppedAt: 'y', error: 'States.Timeout', cause: 'c' });
    expect(await service.status('r')).toMatchObject({ status: 'failed', error: 'States.Timeout', failedAt: 'y' });
    // A record of an earlier run than the manifest's, or of no retry: the manifest answers.
    await service.records.putStatus({ ...retrying, retry: { run: 1, items: 1 } });
    expect(await service.status('r')).toMatchObject({ status: 'done' });
    const { retry: _none, ...plain } = retrying;
    await service.records.putStatus(plain);
    expect(await service.status('r')).toMatchObject({ status: 'done', result: { retries: 1 } });
  });

  it("sums a running chunked run's progress records; reads a run whose execution is unknown, or stopped, as such", async () => {
    const { service, objects, engine } = serviceWith();
    const planned = runRecord('c', { requested: 8, chunks: { total: 2, done: 0 }, plannedAt: 'p', execution: 'c' });
    await service.records.putStatus(planned);
    objects.set(
      progressKey(config, 'c', 0),
      JSON.stringify({ chunk: 0, done: 4, succeeded: 3, failed: 1, finished: true }),
    );
    objects.set(progressKey(config, 'c', 1), JSON.stringify({ chunk: 1, done: 1, succeeded: 1, failed: 0 }));
    engine.set('c', { status: 'RUNNING', startedAt: 'x' });
    expect(await service.status('c')).toMatchObject({
      status: 'running',
      done: 5,
      succeeded: 4,
      failed: 1,
      chunks: { total: 2, done: 1 },
    });
    engine.set('c', { status: 'ABORTED', startedAt: 'x', stoppedAt: 'y' });
    expect(await service.status('c')).toEqual({
      batchId: 'c',
      status: 'failed',
      error: 'ABORTED',
      requested: 8,
      cause: '',
      failedAt: 'y',
    });
    engine.set('c', { status: 'SUCCEEDED', startedAt: 'x' });
    expect(await service.status('c')).toMatchObject({
      status: 'unfinished',
      cause: 'Its execution c succeeded, and no manifest stands; a retry finishes it',
    });
    const unknown = serviceWith();
    await unknown.service.records.putStatus(planned);
    expect(await unknown.service.status('c')).toMatchObject({
      status: 'unfinished',
      requested: 8,
      startedAt: planned.startedAt,
      cause: 'Its execution c is not one the engine knows (the process that ran it stopped); a retry finishes it',
    });
  });

  it('reads a run record of a run here that is not running here as unfinished', async () => {
    const { service } = serviceWith();
    await service.records.putStatus(runRecord('elsewhere'));
    expect(await service.status('elsewhere')).toMatchObject({
      status: 'unfinished',
      cause:
        'It ran inside a request or a process that is not running it here, and wrote no manifest; a retry finishes it',
    });
    expect(await service.status('elsewhere')).not.toHaveProperty('request');
  });

  it('is what the engine says of a batch that recorded nothing yet: accepted, failed, or none', async () => {
    const { service, engine } = serviceWith();
    engine.set('started', { status: 'RUNNING', startedAt: '2026-12-06T01:00:00.000Z', requested: 7 });
    engine.set('died', { status: 'TIMED_OUT', startedAt: 'x', stoppedAt: 'y' });
    engine.set('odd', { status: 'SUCCEEDED', startedAt: 'x' });
    expect(await service.status('started')).toEqual({
      batchId: 'started',
      status: 'accepted',
      requested: 7,
      acceptedAt: '2026-12-06T01:00:00.000Z',
    });
    expect(await service.status('died')).toEqual({
      batchId: 'died',
      status: 'failed',
      requested: 0,
      error: 'TIMED_OUT',
      cause: 'Its execution ended TIMED_OUT before it planned the batch',
      failedAt: 'y',
    });
    expect(await service.status('odd')).toBeUndefined();
    expect(await service.status('none')).toBeUndefined();
    expect(await serviceWith({ engine: false }).service.status('none')).toBeUndefined();
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

  it('claims a retry of the unfinished items for the state machine to plan; none when nothing is left or it is busy', async () => {
    const { service, objects, engine } = serviceWith();
    objects.set(manifestKey(config, 'h'), JSON.stringify(failedItems('h')));
    expect(await service.claimHeal('h')).toEqual({
      batchId: 'h',
      request: failedItems('h').request,
      retry: { run: 1, items: 1 },
      scheduled: true,
    });
    expect(JSON.parse(objects.get(retryClaimKey(config, 'h', 1)) ?? '')).toMatchObject({ indexes: [1] });

    objects.set(manifestKey(config, 'whole'), JSON.stringify(manifestOf('whole')));
    expect(await service.claimHeal('whole')).toEqual({ batchId: 'whole' });

    objects.set(manifestKey(config, 'busy'), JSON.stringify(failedItems('busy')));
    await service.records.putStatus(runRecord('busy', { retry: { run: 1, items: 1 }, execution: 'busy-retry-1' }));
    engine.set('busy-retry-1', { status: 'RUNNING', startedAt: 'x' });
    expect(await service.claimHeal('busy')).toEqual({ batchId: 'busy' });
  });

  it('runs a claimed retry here into the same batch: its manifest merges the run', async () => {
    const { service, objects } = serviceWith();
    objects.set(manifestKey(config, 'r'), JSON.stringify(failedItems('r')));
    const claimed = await service.claimRetry('r');
    if (claimed.kind !== 'claimed') throw new Error(`expected a claim, got ${claimed.kind}`);

    const result = await service.run(claimed.job, cancelledHere(4));

    expect(result).toMatchObject({ batchId: 'r', retries: 1, requested: 2, succeeded: 1, failed: 1 });
    expect(JSON.parse(objects.get(manifestKey(config, 'r')) ?? '')).toMatchObject({ result: { retries: 1 } });
  });

  it('refuses to heal a batch it cannot: unknown, or of another source', async () => {
    const { service, objects } = serviceWith();
    await expect(service.claimHeal('nope')).rejects.toMatchObject({
      code: 'NOTHING_TO_RETRY',
      message: 'Cannot heal batch nope: unknown',
    });
    const offline = failedItems('o');
    objects.set(
      manifestKey(config, 'o'),
      JSON.stringify({ ...offline, result: { ...offline.result, source: 'offline' } }),
    );
    await expect(service.claimHeal('o')).rejects.toThrow('Cannot heal batch o: other-source');
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
    const failing = new BatchService(config, { s3: s3 as never, transfer: s3 as never, source });

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
