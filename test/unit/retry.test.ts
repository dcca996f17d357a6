import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { BatchResult, ItemOutcome, Manifest } from '../../lambda/function/contracts/result.js';
import { BatchService } from '../../lambda/function/orchestration/batch-service.js';
import type { BatchEngine, Execution } from '../../lambda/function/orchestration/engine.js';
import { mergeRetried } from '../../lambda/function/orchestration/retry.js';
import { unfinishedIndexes } from '../../lambda/function/orchestration/retry-claim.js';
import { manifestKey, retryClaimKey, statusKey } from '../../lambda/function/storage/keys.js';
import { memoryS3 } from '../support/memory-s3.js';

const config = loadConfig({ BUCKET_NAME: 'b', KEY_PREFIX: 'p/' });

const stored = (index: number, extra: Partial<ItemOutcome> = {}): ItemOutcome =>
  ({
    index,
    ok: true,
    key: `p/a/${index}-1.jpg`,
    bytes: 1,
    sha256: 'h',
    attempts: 1,
    latencyMs: 5,
    ...extra,
  }) as ItemOutcome;
const failed = (index: number, reason: string, attempts: number, extra: Partial<ItemOutcome> = {}): ItemOutcome =>
  ({ index, ok: false, reason, message: reason, attempts, latencyMs: 5, ...extra }) as ItemOutcome;

describe('mergeRetried', () => {
  const previous = [
    stored(0),
    failed(1, 'source_status', 2, { startMs: 0, retries: [{ reason: 'source_status', waitMs: 200 }] }),
    failed(2, 'cancelled', 0),
  ];
  const retry = { run: 3, startedAt: 10_000, previousFinishedAt: 9_000 };

  it('puts each retried outcome in its place, adding attempts and the earlier failures as retries', () => {
    const items = mergeRetried(
      previous,
      [
        stored(1, { startMs: 50, storedMs: 90, retries: [{ reason: 'source_timeout', waitMs: 100 }] }),
        stored(2, { startMs: 0 }),
      ],
      retry,
    );

    expect(items[0]).toBe(previous[0]);
    expect(items[1]).toEqual({
      ...stored(1, { startMs: 50, storedMs: 90 }),
      run: 3,
      attempts: 3,
      retries: [
        { reason: 'source_status', waitMs: 200 },
        // From the end of the run that left it failed to its start in this one.
        { reason: 'source_status', waitMs: 1_050 },
        { reason: 'source_timeout', waitMs: 100 },
      ],
    });
    // Never attempted before (cancelled before it started): no earlier attempt to list.
    expect(items[2]).toEqual({ ...stored(2, { startMs: 0 }), run: 3, attempts: 1 });
    expect(items[2]?.retries).toBeUndefined();
  });

  it('keeps an item that fails again failed, with every attempt counted', () => {
    const [, again] = mergeRetried(previous, [failed(1, 'source_status', 1, { startMs: 0 })], retry);
    expect(again).toMatchObject({ ok: false, reason: 'source_status', attempts: 3, run: 3 });
    expect(again?.retries).toHaveLength(2);
  });

  it('refuses an outcome for an item the manifest holds stored, or does not hold', () => {
    expect(() => mergeRetried(previous, [stored(0)], retry)).toThrow(/item 0/);
    expect(() => mergeRetried(previous, [stored(7)], retry)).toThrow(/item 7/);
  });
});

describe('unfinishedIndexes', () => {
  it('lists every item not stored, whatever its reason, in index order', () => {
    expect(unfinishedIndexes([stored(0), failed(1, 'timeout', 1), stored(2), failed(3, 'chunk_failed', 0)])).toEqual([
      1, 3,
    ]);
  });
});

/** The in-memory S3 a batch service of `setup` writes to. */
const s3Of = (service: BatchService) => service.deps.s3 as ReturnType<typeof memoryS3>;

describe('claimRetry and the status of a batch being retried', () => {
  const request = parseRequest({ count: 3 }, config);
  const result = { batchId: 'a', status: 'done', requested: 3, retries: 0, finishedAt: new Date(0).toISOString() };
  const manifest = (retries = 0): Manifest => ({
    version: 1,
    batchId: 'a',
    request,
    result: { ...result, retries } as BatchResult,
    items: [stored(0), failed(1, 'timeout', 1), failed(2, 'source_network', 4)],
  });
  /** A batch service on `s3` (no source: nothing here fetches), with `engine` when given. */
  const serviceOn = (s3: Pick<ReturnType<typeof memoryS3>, 'send'>, engine?: BatchEngine) =>
    new BatchService(
      config,
      { s3, transfer: s3, source: { dispatcher: () => ({}) as never, close: async () => {} } },
      engine,
    );
  const setup = async (retries = 0) => {
    const s3 = memoryS3();
    s3.objects.set(manifestKey(config, 'a'), JSON.stringify(manifest(retries)));
    return serviceOn(s3);
  };

  it('claims the next run for the unfinished items; a second claim meanwhile finds the batch busy', async () => {
    const options = await setup(2);

    const first = await options.claimRetry('a');
    const second = await options.claimRetry('a');

    expect(first).toEqual({ kind: 'claimed', job: { batchId: 'a', request, retry: { run: 3, items: 2 } } });
    expect(JSON.parse(s3Of(options).objects.get(retryClaimKey(config, 'a', 3)) ?? '')).toMatchObject({
      run: 3,
      indexes: [1, 2],
    });
    expect(second).toMatchObject({ kind: 'busy', status: { status: 'accepted', retry: { run: 3, items: 2 } } });
  });

  it('claims nothing for a batch fetched from another source: a batch keeps to one source', async () => {
    const options = await setup();
    const offline = { ...manifest(), result: { ...manifest().result, source: 'offline' } };
    s3Of(options).objects.set(manifestKey(config, 'a'), JSON.stringify(offline));

    expect(config.source).toBe('picsum.photos');
    expect(await options.claimRetry('a')).toEqual({ kind: 'other-source', source: 'offline' });
    expect(s3Of(options).objects.has(retryClaimKey(config, 'a', 1))).toBe(false);
  });

  it('skips a claim whose run died (old, and no run underway) and takes the next number', async () => {
    const options = await setup();
    const old = { run: 1, claimedAt: new Date(Date.now() - 120_000).toISOString(), indexes: [1, 2] };
    s3Of(options).objects.set(retryClaimKey(config, 'a', 1), JSON.stringify(old));

    expect(await options.claimRetry('a')).toMatchObject({ kind: 'claimed', job: { retry: { run: 2 } } });
  });

  it('finds the batch busy while a claimed retry runs on the engine, and takes the next number once it stopped', async () => {
    const s3 = memoryS3();
    s3.objects.set(manifestKey(config, 'a'), JSON.stringify(manifest()));
    const old = { run: 1, claimedAt: new Date(Date.now() - 120_000).toISOString(), indexes: [1, 2] };
    s3.objects.set(retryClaimKey(config, 'a', 1), JSON.stringify(old));
    let execution: Execution = { status: 'RUNNING', startedAt: 'x' };
    const engine = {
      start: async () => {},
      describe: async (name: string) => (name === 'a-retry-1' ? execution : undefined),
    };
    const service = serviceOn(s3, engine);

    expect(await service.claimRetry('a')).toMatchObject({
      kind: 'busy',
      status: { status: 'accepted', retry: { run: 1 } },
    });
    execution = { status: 'FAILED', startedAt: 'x' };
    expect(await service.claimRetry('a')).toMatchObject({ kind: 'claimed', job: { retry: { run: 2 } } });
  });

  it('finishes a retry run that never finished, and nothing runs, by running it again; the manifest answers once it did', async () => {
    const options = await setup();
    const running = {
      batchId: 'a',
      status: 'running' as const,
      requested: 3,
      done: 0,
      succeeded: 0,
      failed: 0,
      retry: { run: 1, items: 2 },
      request,
      startedAt: new Date().toISOString(),
    };
    await options.records.putStatus(running);
    expect(await options.status('a')).toMatchObject({ status: 'unfinished', retry: { run: 1, items: 2 } });
    expect(await options.claimRetry('a')).toEqual({
      kind: 'resume',
      job: { batchId: 'a', request, retry: { run: 1, items: 2 } },
    });

    s3Of(options).objects.set(manifestKey(config, 'a'), JSON.stringify(manifest(1)));
    expect(await options.status('a')).toMatchObject({ status: 'done', result: { retries: 1 } });
  });

  it('finishes a first run that never finished from its run record: the request it ran', async () => {
    const options = await setup();
    await options.records.putStatus({
      batchId: 'first',
      status: 'running',
      requested: 3,
      done: 1,
      succeeded: 1,
      failed: 0,
      request,
      startedAt: new Date().toISOString(),
    });
    expect(await options.claimRetry('first')).toEqual({ kind: 'resume', job: { batchId: 'first', request } });
  });

  it('finds a batch whose execution started and has not planned yet busy', async () => {
    const s3 = memoryS3();
    const engine = {
      start: async () => {},
      describe: async (name: string) =>
        name === 'new' ? { status: 'RUNNING' as const, startedAt: 'x', requested: 3 } : undefined,
    };
    const service = serviceOn(s3, engine);
    expect(await service.claimRetry('new')).toMatchObject({ kind: 'busy', status: { status: 'accepted' } });
  });

  it('cannot finish a run that never finished when its record keeps no request (a record older than requests in it)', async () => {
    const options = await setup();
    await options.records.putStatus({
      batchId: 'old',
      status: 'running',
      requested: 3,
      done: 0,
      succeeded: 0,
      failed: 0,
    });
    expect(await options.claimRetry('old')).toMatchObject({ kind: 'no-manifest', status: { status: 'unfinished' } });
  });

  it('gives up after 20 claims whose runs never finished, starting none', async () => {
    const options = await setup();
    const old = new Date(Date.now() - 120_000).toISOString();
    for (let run = 1; run <= 20; run++) {
      s3Of(options).objects.set(retryClaimKey(config, 'a', run), JSON.stringify({ run, claimedAt: old, indexes: [1] }));
    }
    await expect(options.claimRetry('a')).rejects.toMatchObject({
      code: 'TOO_MANY_RETRIES',
      message: 'Batch a has 20 retry runs that never finished; not starting another',
    });
    expect(s3Of(options).objects.has(retryClaimKey(config, 'a', 21))).toBe(false);
  });

  it('counts a claim with no execution as getting started for exactly a minute', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-06T12:00:00Z') });
    try {
      const options = await setup();
      const claim = (claimedAt: string) => JSON.stringify({ run: 1, claimedAt, indexes: [1, 2] });
      s3Of(options).objects.set(retryClaimKey(config, 'a', 1), claim('2026-12-06T11:59:00.001Z'));
      expect(await options.claimRetry('a')).toMatchObject({ kind: 'busy' });
      s3Of(options).objects.set(retryClaimKey(config, 'a', 1), claim('2026-12-06T11:59:00.000Z'));
      expect(await options.claimRetry('a')).toMatchObject({ kind: 'claimed', job: { retry: { run: 2 } } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('takes the next number when a claim was refused and then is not there to read', async () => {
    const s3 = memoryS3();
    s3.objects.set(manifestKey(config, 'a'), JSON.stringify(manifest()));
    const send = s3.send.bind(s3);
    const refusing = {
      ...s3,
      send: async (command: unknown) => {
        const input = (command as { input?: { Key?: string; IfNoneMatch?: string } }).input;
        if (input?.IfNoneMatch === '*' && input.Key === retryClaimKey(config, 'a', 1)) {
          throw Object.assign(new Error('PreconditionFailed'), {
            name: 'PreconditionFailed',
            $fault: 'client',
            $metadata: { httpStatusCode: 412 },
          });
        }
        return send(command as never);
      },
    };
    const service = serviceOn(refusing);
    expect(await service.claimRetry('a')).toMatchObject({ kind: 'claimed', job: { retry: { run: 2 } } });
  });

  it('fails with the status that could not be read, leaving no read of the manifest unhandled', async () => {
    const options = await setup();
    s3Of(options).objects.set(statusKey(config, 'bad'), 'not json');
    s3Of(options).objects.set(manifestKey(config, 'bad'), 'not json either');
    await expect(options.claimRetry('bad')).rejects.toMatchObject({ code: 'RECORD_INVALID' });
  });

  it('answers unknown, no-manifest and nothing-to-retry as such', async () => {
    const options = await setup();
    expect(await options.claimRetry('nope')).toEqual({ kind: 'unknown' });

    const failedStatus = {
      batchId: 'f',
      status: 'failed' as const,
      requested: 3,
      error: 'States.Timeout',
      cause: 'timed out',
      failedAt: new Date().toISOString(),
    };
    await options.records.putStatus(failedStatus);
    expect(await options.claimRetry('f')).toEqual({ kind: 'no-manifest', status: failedStatus });

    s3Of(options).objects.set(
      manifestKey(config, 'a'),
      JSON.stringify({ ...manifest(), items: [stored(0), stored(1), stored(2)] }),
    );
    expect(await options.claimRetry('a')).toMatchObject({ kind: 'nothing', result: { batchId: 'a' } });
  });
});
