import type { Config } from '../contracts/config.js';
import { RequestError } from '../contracts/errors.js';
import { parseRequest } from '../contracts/request.js';
import { type BatchJob, newBatchId } from './batch.js';

/**
 * A run envelope: what an EventBridge Scheduler schedule sends (its input template adds the
 * schedule's name and `<aws.scheduler.scheduled-time>`), and what a direct invocation sends to run
 * one batch: `{"kind": "picsum-batch.run", "request": {"count": 5}}`.
 */
export type RunEvent = { kind: 'picsum-batch.run'; request?: unknown; scheduleName?: unknown; scheduledTime?: unknown };

/**
 * The job for a run envelope. With a schedule name and time the batch id derives from them, so a
 * retried delivery of the same run finds that batch instead of starting a second one. Throws a
 * RequestError for a bad request: the failed invocation shows up in alarms and the DLQ.
 */
export function scheduledJob(event: RunEvent, config: Config): BatchJob {
  const request = parseRequest(event.request ?? {}, config);
  const { scheduleName, scheduledTime } = event;
  if (scheduleName === undefined && scheduledTime === undefined) return { batchId: newBatchId(), request };
  const time = typeof scheduledTime === 'string' ? Date.parse(scheduledTime) : Number.NaN;
  if (typeof scheduleName !== 'string' || !/[A-Za-z0-9]/.test(scheduleName) || Number.isNaN(time)) {
    throw new RequestError(
      `Expected \`scheduleName\` (a name) and \`scheduledTime\` (an ISO time) together, got ${JSON.stringify(String(scheduleName)).slice(0, 80)} and ${JSON.stringify(String(scheduledTime)).slice(0, 40)}`,
      { field: 'scheduledTime' },
    );
  }
  const name = scheduleName.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  const stamp = new Date(time)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return { batchId: `${name}-${stamp}`, request, scheduled: true };
}
