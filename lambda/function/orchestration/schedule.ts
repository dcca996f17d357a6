import type { Config } from '../contracts/config.js';
import { parseRequest } from '../contracts/request.js';
import { newBatchId } from './batch.js';
import type { BatchJob } from './jobs.js';

/**
 * What an EventBridge Scheduler schedule sends: the batch request and, from the schedule's input
 * template, its name and `<aws.scheduler.scheduled-time>`.
 */
export type ScheduleEvent = { request?: unknown; scheduleName?: string; scheduledTime?: string };

/**
 * The job for a scheduled run. With a schedule name and time the batch id derives from them, so a
 * retried delivery of the same run rewrites the same keys instead of starting a second batch.
 * Throws a RequestError for a bad request: the failed invocation shows up in alarms and the DLQ.
 */
export function scheduledJob(event: ScheduleEvent, config: Config): BatchJob {
  const request = parseRequest(event.request ?? {}, config);
  const time = event.scheduledTime ? Date.parse(event.scheduledTime) : Number.NaN;
  if (!event.scheduleName || Number.isNaN(time)) return { batchId: newBatchId(), request };
  const name = event.scheduleName.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  const stamp = new Date(time)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return { batchId: `${name}-${stamp}`, request };
}
