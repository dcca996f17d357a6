import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import {
  ACCEPTED_WINDOW_MS,
  acceptedRecord,
  failedRecord,
  plannedRecord,
  relaunchable,
  runningRecord,
  settled,
  throttled,
} from '../../lambda/function/orchestration/lifecycle.js';
import { memoryS3 } from '../support/memory-s3.js';

const _config = loadConfig({ BUCKET_NAME: 'b', KEY_PREFIX: 'p/' });
const _deps = () => ({ s3: memoryS3(), source: { dispatcher: () => ({}) as never, close: async () => {} } });

describe('settled', () => {
  const running = {
    batchId: 'b',
    status: 'running' as const,
    requested: 5,
    done: 1,
    succeeded: 1,
    failed: 0,
    expiresAt: '2026-11-25T00:01:00.000Z',
  };

  it('reports a record past its expiry as interrupted, and one before it as it is', () => {
    expect(settled(running, Date.parse('2026-11-25T00:00:59Z'))).toBe(running);
    expect(settled(running, Date.parse('2026-11-25T00:01:00Z'))).toMatchObject({
      status: 'failed',
      error: 'interrupted',
      requested: 5,
      failedAt: '2026-11-25T00:01:00.000Z',
    });
    const accepted = {
      batchId: 'b',
      status: 'accepted' as const,
      requested: 5,
      acceptedAt: 'x',
      expiresAt: running.expiresAt,
    };
    expect(settled(accepted, Date.parse('2026-11-25T00:02:00Z'))).toMatchObject({
      status: 'failed',
      cause: expect.stringMatching(/accepted but never started/),
    });
  });

  it('leaves records without an expiry, and finished ones, alone', () => {
    const { expiresAt: _none, ...chunked } = running;
    expect(settled(chunked, Date.parse('2030-01-01T00:00:00Z'))).toBe(chunked);
    const failed = { batchId: 'b', status: 'failed' as const, requested: 1, error: 'x', cause: 'y', failedAt: 'z' };
    expect(settled(failed, 0)).toBe(failed);
  });
});

describe("the lifecycle's timings", () => {
  it('gives an accepted batch 65 minutes to start: Lambda keeps an asynchronous event an hour at most', () => {
    expect(ACCEPTED_WINDOW_MS).toBe(65 * 60_000);
    const record = acceptedRecord({ batchId: 'a', request: { count: 3 } }, Date.parse('2026-11-25T00:00:00Z'));
    expect(record).toEqual({
      batchId: 'a',
      status: 'accepted',
      requested: 3,
      acceptedAt: '2026-11-25T00:00:00.000Z',
      expiresAt: '2026-11-25T01:05:00.000Z',
    });
    expect(acceptedRecord({ batchId: 'a', request: { count: 3 }, retry: { run: 2, items: 1 } })).toMatchObject({
      retry: { run: 2, items: 1 },
    });
  });

  it('writes a running record with its counts and expiry, and a planned one that runs until its steps end it', () => {
    const counts = { done: 1, succeeded: 1, failed: 0 };
    expect(runningRecord({ batchId: 'r', request: { count: 2 } }, counts, new Date(0))).toEqual({
      batchId: 'r',
      status: 'running',
      requested: 2,
      ...counts,
      expiresAt: '1970-01-01T00:00:00.000Z',
    });
    expect(
      runningRecord({ batchId: 'r', request: { count: 2 }, retry: { run: 1, items: 1 } }, counts, new Date(0)),
    ).toMatchObject({
      retry: { run: 1, items: 1 },
    });
    expect(plannedRecord({ batchId: 'p', request: { count: 9 } }, 3, 'then')).toEqual({
      batchId: 'p',
      status: 'running',
      requested: 9,
      done: 0,
      succeeded: 0,
      failed: 0,
      chunks: { total: 3, done: 0 },
      plannedAt: 'then',
    });
  });

  it("keeps a failed record's cause to 1,000 characters", () => {
    const failed = failedRecord({ batchId: 'f', requested: 1 }, 'launch_failed', 'x'.repeat(2_000), 'now');
    expect(failed).toEqual({
      batchId: 'f',
      status: 'failed',
      requested: 1,
      error: 'launch_failed',
      cause: 'x'.repeat(1_000),
      failedAt: 'now',
    });
  });

  it('relaunches only a batch whose launch failed', () => {
    const failed = (error: string) => failedRecord({ batchId: 'f', requested: 1 }, error, 'c');
    expect(relaunchable(failed('launch_failed'))).toBe(true);
    expect(relaunchable(failed('interrupted'))).toBe(false);
    expect(relaunchable(undefined)).toBe(false);
    expect(relaunchable(acceptedRecord({ batchId: 'a', request: { count: 1 } }))).toBe(false);
  });

  it('says why a running batch whose record expired is interrupted', () => {
    const running = runningRecord(
      { batchId: 'r', request: { count: 2 } },
      { done: 0, succeeded: 0, failed: 0 },
      new Date(0),
    );
    expect(settled(running, 1)).toEqual({
      batchId: 'r',
      status: 'failed',
      requested: 2,
      error: 'interrupted',
      cause:
        'The invocation running the batch stopped before it wrote a manifest (expected by 1970-01-01T00:00:00.000Z)',
      failedAt: '1970-01-01T00:00:00.000Z',
    });
  });
});

describe('throttled', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes at most once per interval, in order, and flush waits for what was offered', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const written: number[] = [];
    let release: () => void = () => {};
    const writer = throttled(
      (value: number) =>
        new Promise<void>((resolve) => {
          release = () => {
            written.push(value);
            resolve();
          };
        }),
      2_000,
    );
    writer.offer(1);
    writer.offer(2);
    vi.setSystemTime(1_001_999);
    writer.offer(3);
    vi.setSystemTime(1_002_000);
    const flushed = writer.flush();
    let done = false;
    void flushed.then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    release();
    await flushed;
    expect(written).toEqual([1]);
    writer.offer(4);
    await Promise.resolve();
    await Promise.resolve();
    release();
    await writer.flush();
    expect(written).toEqual([1, 4]);
  });

  it('writes every offer with no interval, and a failed write fails nothing', async () => {
    vi.useFakeTimers({ now: 5_000 });
    const written: number[] = [];
    const writer = throttled(async (value: number) => {
      written.push(value);
      if (value === 1) throw new Error('S3 said no');
    }, 0);
    writer.offer(1);
    writer.offer(2);
    await writer.flush();
    expect(written).toEqual([1, 2]);
  });
});
