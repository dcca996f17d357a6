import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import {
  failedRecord,
  plannedRecord,
  runningRecord,
  statusOf,
  throttled,
  unfinishedStatus,
} from '../../lambda/function/orchestration/lifecycle.js';

const config = loadConfig({ BUCKET_NAME: 'b', KEY_PREFIX: 'p/' });
const request = (count: number) => parseRequest({ count, width: 8 }, config);

describe("the lifecycle's records", () => {
  it('writes a run record with its counts and request, and no expiry; a planned one names its execution', () => {
    const counts = { done: 1, succeeded: 1, failed: 0 };
    expect(runningRecord({ batchId: 'r', request: request(2) }, counts, 'then')).toEqual({
      batchId: 'r',
      status: 'running',
      requested: 2,
      ...counts,
      request: request(2),
      startedAt: 'then',
    });
    expect(
      runningRecord({ batchId: 'r', request: request(2), retry: { run: 1, items: 1 } }, counts, 'then'),
    ).toMatchObject({ retry: { run: 1, items: 1 } });
    expect(plannedRecord({ batchId: 'p', request: request(9) }, 3, 'then', 'p')).toEqual({
      batchId: 'p',
      status: 'running',
      requested: 9,
      done: 0,
      succeeded: 0,
      failed: 0,
      execution: 'p',
      chunks: { total: 3, done: 0 },
      plannedAt: 'then',
      request: request(9),
      startedAt: 'then',
    });
    expect(
      plannedRecord({ batchId: 'p', request: request(9), retry: { run: 2, items: 4 } }, 1, 'then', 'p-retry-2'),
    ).toMatchObject({ retry: { run: 2, items: 4 }, execution: 'p-retry-2' });
  });

  it('answers a run record without the request it keeps for a retry', () => {
    const record = runningRecord({ batchId: 'r', request: request(2) }, { done: 0, succeeded: 0, failed: 0 }, 'then');
    expect(statusOf(record)).toEqual({
      batchId: 'r',
      status: 'running',
      requested: 2,
      done: 0,
      succeeded: 0,
      failed: 0,
    });
  });

  it('says what an unfinished batch is, when it started and why, and which retry it was', () => {
    const record = runningRecord(
      { batchId: 'u', request: request(3), retry: { run: 1, items: 2 } },
      { done: 1, succeeded: 1, failed: 0 },
      'then',
    );
    expect(unfinishedStatus(record, 'Nothing runs it')).toEqual({
      batchId: 'u',
      status: 'unfinished',
      requested: 3,
      startedAt: 'then',
      cause: 'Nothing runs it; a retry finishes it',
      retry: { run: 1, items: 2 },
    });
    const { startedAt: _none, ...planned } = plannedRecord({ batchId: 'p', request: request(9) }, 3, 'planned', 'p');
    expect(unfinishedStatus(planned, 'x')).toMatchObject({ startedAt: 'planned' });
    // A record written before run records kept a time says none.
    const { plannedAt: _no, ...timeless } = planned;
    expect(unfinishedStatus(timeless, 'x')).toMatchObject({ startedAt: '' });
  });

  it("keeps a failed record's cause to 1,000 characters", () => {
    const failed = failedRecord({ batchId: 'f', requested: 1 }, 'States.Timeout', 'x'.repeat(2_000), 'now');
    expect(failed).toEqual({
      batchId: 'f',
      status: 'failed',
      requested: 1,
      error: 'States.Timeout',
      cause: 'x'.repeat(1_000),
      failedAt: 'now',
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
