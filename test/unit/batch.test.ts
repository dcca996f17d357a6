import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
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
      request: parseRequest({ count: 2 }, config),
      schedule: { name: 'daily', time: Date.parse('2026-11-25T00:00:00Z') },
    };
    expect(scheduledJob(event)).toMatchObject({ batchId: 'daily-20261125T000000Z', scheduled: true });
    expect(scheduledJob(event).batchId).toBe(scheduledJob(event).batchId);
    expect(scheduledJob({ ...event, schedule: { name: 'a b/c', time: 0 } }).batchId).toBe('a-b-c-19700101T000000Z');
  });

  it('are new for a run envelope without a schedule, and not scheduled', () => {
    const event = { kind: 'picsum-batch.run' as const, request: parseRequest({ count: 2 }, config) };
    expect(scheduledJob(event).scheduled).toBeUndefined();
    expect(scheduledJob(event).batchId).not.toBe(scheduledJob(event).batchId);
  });
});
