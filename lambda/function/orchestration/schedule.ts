import type { BatchRequest } from '../contracts/request.js';
import { type BatchJob, newBatchId } from './batch.js';

/**
 * A run envelope: what an EventBridge Scheduler schedule sends (its input template adds the
 * schedule's name and `<aws.scheduler.scheduled-time>`), and what a direct invocation sends to run
 * one batch: `{"kind": "picsum-batch.run", "request": {"count": 5}}`. Checked by the runs entry:
 * the request by the API's rules, the schedule's name and time together or not at all.
 */
export type RunEvent = {
  kind: 'picsum-batch.run';
  request: BatchRequest;
  schedule?: { name: string; time: number };
};

/**
 * The job for a run envelope. With a schedule name and time the batch id derives from them, so a
 * retried delivery of the same run finds that batch instead of starting a second one.
 */
export function scheduledJob(event: RunEvent): BatchJob {
  const { request, schedule } = event;
  if (schedule === undefined) return { batchId: newBatchId(), request };
  const name = schedule.name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  const stamp = new Date(schedule.time)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return { batchId: `${name}-${stamp}`, request, scheduled: true };
}
