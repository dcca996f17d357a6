import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../lambda/function/contracts/backoff.js';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { newBatchId } from '../../lambda/function/orchestration/batch.js';
import { scheduledJob } from '../../lambda/function/orchestration/schedule.js';
import { percentiles } from '../../lambda/function/pipeline/stats.js';
import { imageKey } from '../../lambda/function/storage/keys.js';
import { StoreError, toStoreError } from '../../lambda/function/storage/store-error.js';
import { regionFromApiUrl } from '../../lambda/local/signed-client.js';

const config = loadConfig({});

describe('imageKey', () => {
  it('pads the index to the width of the last index', () => {
    const item = { batchId: 'b1', picsumId: '237', format: 'jpg' as const };
    expect(imageKey(config, { ...item, index: 7, count: 15 })).toBe('images/b1/07-237.jpg');
    expect(imageKey(config, { ...item, index: 7, count: 1000 })).toBe('images/b1/007-237.jpg');
    expect(imageKey(config, { ...item, index: 0, count: 1 })).toBe('images/b1/0-237.jpg');
  });
});

describe('backoffMs', () => {
  const retry = { retryBaseMs: 100, retryMaxMs: 1000, maxAttempts: 5 };

  it('doubles per attempt up to the cap, with jitter in the upper half', () => {
    expect(backoffMs(1, retry, () => 0)).toBe(50);
    expect(backoffMs(1, retry, () => 1)).toBe(100);
    expect(backoffMs(3, retry, () => 1)).toBe(400);
    expect(backoffMs(10, retry, () => 1)).toBe(1000);
    expect(backoffMs(10, retry, () => 0)).toBe(500);
  });
});

describe('percentiles', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentiles(values)).toEqual({ p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentiles([])).toEqual({ p50: 0, p90: 0, p99: 0, max: 0 });
  });
});

describe('batch ids', () => {
  it('sort by time and differ within the same second', () => {
    const now = new Date('2026-11-25T09:42:07.123Z');
    expect(newBatchId(now)).toMatch(/^20261125T094207Z-[0-9a-f]{8}$/);
    expect(newBatchId(now)).not.toBe(newBatchId(now));
  });

  it('derive from the schedule name and time, so a retried delivery reuses them', () => {
    const event = {
      kind: 'picsum-batch.run' as const,
      request: { count: 2 },
      scheduleName: 'daily',
      scheduledTime: '2026-11-25T00:00:00Z',
    };
    expect(scheduledJob(event, config).batchId).toBe('daily-20261125T000000Z');
    expect(scheduledJob(event, config).batchId).toBe(scheduledJob(event, config).batchId);
  });

  it('refuse a schedule payload with a bad request', () => {
    expect(() => scheduledJob({ kind: 'picsum-batch.run', request: { count: 0 } }, config)).toThrow(/`count`/);
  });
});

describe('regionFromApiUrl', () => {
  it('reads the region from an execute-api host, and nothing from another host', () => {
    expect(regionFromApiUrl(new URL('https://a1b2c3.execute-api.eu-west-1.amazonaws.com/v1/'))).toBe('eu-west-1');
    expect(regionFromApiUrl(new URL('http://127.0.0.1:3000/'))).toBeUndefined();
  });
});

describe('toStoreError', () => {
  const s3Error = (name: string, httpStatusCode?: number) =>
    Object.assign(new Error(name), { name, $fault: 'client', $metadata: { httpStatusCode } });
  const retryable = (error: unknown) => (toStoreError(error, 'S3 PutObject') as StoreError).retryable;

  it('gives up on refusals and other 4xx, and retries timeouts, throttling, 5xx and network errors', () => {
    expect(retryable(s3Error('AccessDenied', 403))).toBe(false);
    expect(retryable(s3Error('NoSuchBucket'))).toBe(false);
    expect(retryable(s3Error('InvalidRequest', 400))).toBe(false);
    expect(retryable(s3Error('RequestTimeout', 408))).toBe(true);
    expect(retryable(s3Error('SlowDown', 503))).toBe(true);
    expect(retryable(s3Error('TooManyRequests', 429))).toBe(true);
    expect(retryable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
  });

  it('names the code and status, and leaves bugs and aborts as they were', () => {
    const refused = toStoreError(s3Error('AccessDenied', 403), 'S3 PutObject');
    expect(refused).toBeInstanceOf(StoreError);
    expect(refused).toMatchObject({ code: 'AccessDenied', status: 403 });
    const bug = new TypeError('Cannot read properties of undefined');
    expect(toStoreError(bug, 'S3 PutObject')).toBe(bug);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(toStoreError(abort, 'S3 PutObject')).toBe(abort);
  });
});
