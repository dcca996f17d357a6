import type { Config } from '../contracts/config.js';
import { AppError, type FailureReason } from '../contracts/errors.js';
import type { BatchResult, BatchStatus } from '../contracts/result.js';
import type { Ended } from '../orchestration/batch-service.js';
import { reportKey } from '../storage/keys.js';
import { type AwsClientOptions, clientConfig, once } from './step-functions-engine.js';

/** The `detail-type` of the one event a batch puts on EventBridge when it ends. */
export type BatchEventType = 'Batch Done' | 'Batch Failed' | 'Batch Cancelled';

/**
 * The `detail` of a batch's event: its counts and where its records are. A batch that failed as a
 * whole (a state machine step given up on) has no manifest: its keys are null, and `error` and
 * `cause` say why. Documented in docs/api.md ("Batch events").
 */
export type BatchEventDetail = {
  batchId: string;
  status: 'done' | 'failed' | 'cancelled';
  requested: number;
  succeeded: number;
  failed: number;
  failureCounts: Partial<Record<FailureReason, number>>;
  elapsedMs: number | null;
  bucket: string;
  manifestKey: string | null;
  reportKey: string | null;
  /** Retry runs the batch has had (0 for its first run). */
  retries: number;
  error?: string;
  cause?: string;
};

export type BatchEvent = { detailType: BatchEventType; detail: BatchEventDetail };

const DETAIL_TYPES = { done: 'Batch Done', failed: 'Batch Failed', cancelled: 'Batch Cancelled' } as const;

/** The event of a batch that ended: with its result, or failed as a whole. */
export function batchEvent(ended: Ended, config: Pick<Config, 'bucket' | 'keyPrefix'>): BatchEvent {
  if ('status' in ended && ended.status === 'failed') {
    const failed = ended as Extract<BatchStatus, { status: 'failed' }>;
    return {
      detailType: DETAIL_TYPES.failed,
      detail: {
        batchId: failed.batchId,
        status: 'failed',
        requested: failed.requested,
        succeeded: 0,
        failed: 0,
        failureCounts: {},
        elapsedMs: null,
        bucket: config.bucket,
        manifestKey: null,
        reportKey: null,
        retries: 0,
        error: failed.error,
        cause: failed.cause,
      },
    };
  }
  const result = ended as BatchResult;
  const status = result.status === 'cancelled' ? 'cancelled' : 'done';
  return {
    detailType: DETAIL_TYPES[status],
    detail: {
      batchId: result.batchId,
      status,
      requested: result.requested,
      succeeded: result.succeeded,
      failed: result.failed,
      failureCounts: result.failureCounts,
      elapsedMs: result.elapsedMs,
      bucket: result.bucket,
      manifestKey: result.manifestError ? null : result.manifestKey,
      reportKey: result.manifestError || result.reportError ? null : reportKey(config, result.batchId),
      retries: result.retries ?? 0,
    },
  };
}

/**
 * Puts each event on the bus with @aws-sdk/client-eventbridge (loaded on the first event) and its
 * retries. Throws when EventBridge refuses the entry.
 */
export function eventBridgePutter(options: AwsClientOptions & { busName: string; source: string }) {
  const { busName, source, ...aws } = options;
  const client = once(async () => {
    const { EventBridgeClient, PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    return { events: new EventBridgeClient(clientConfig(aws)), PutEventsCommand };
  });
  return async (event: BatchEvent): Promise<void> => {
    const { events, PutEventsCommand } = await client();
    const answer = await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: busName, Source: source, DetailType: event.detailType, Detail: JSON.stringify(event.detail) },
        ],
      }),
    );
    const [entry] = answer.Entries ?? [];
    if ((answer.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) {
      throw new AppError(
        'EVENT_REFUSED',
        `EventBridge refused the event: ${entry?.ErrorCode} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  };
}

/**
 * What the batch service calls when a batch ends: puts its event, and never fails the batch — a
 * refused or unreachable EventBridge is logged and counted (`BatchEventsFailed`).
 */
export function announcer(
  put: (event: BatchEvent) => Promise<void>,
  config: Pick<Config, 'bucket' | 'keyPrefix'>,
  report: { failed(error: unknown, event: BatchEvent): void },
) {
  return async (ended: Ended): Promise<void> => {
    const event = batchEvent(ended, config);
    try {
      await put(event);
    } catch (error) {
      report.failed(error, event);
    }
  };
}
