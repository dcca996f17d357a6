import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { newBatchId } from '../../lambda/function/orchestration/batch.js';
import { scheduledJob } from '../../lambda/function/orchestration/schedule.js';

const config = loadConfig({});

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
