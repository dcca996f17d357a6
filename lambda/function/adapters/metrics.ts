import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BatchResult } from '../contracts/result.js';

/** CloudWatch namespace of the batch metrics; the stack's alarms read the same names. */
export const METRICS_NAMESPACE = 'PicsumBatch';

export const METRIC_NAMES = {
  stored: 'ImagesStored',
  failed: 'ImagesFailed',
  bytes: 'BytesStored',
  elapsed: 'BatchElapsedMs',
  /** Batch events EventBridge did not take (the batch stands; see batch-events.ts). */
  eventsFailed: 'BatchEventsFailed',
} as const;

/** The part of Powertools' Metrics that batches use. */
export type MetricsSink = {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): unknown;
};

/** Emits one batch's metrics as an EMF log line. */
export function recordBatch(metrics: MetricsSink, result: BatchResult): void {
  metrics.addMetric(METRIC_NAMES.stored, MetricUnit.Count, result.succeeded);
  metrics.addMetric(METRIC_NAMES.failed, MetricUnit.Count, result.failed);
  metrics.addMetric(METRIC_NAMES.bytes, MetricUnit.Bytes, result.bytes);
  metrics.addMetric(METRIC_NAMES.elapsed, MetricUnit.Milliseconds, result.elapsedMs);
  metrics.publishStoredMetrics();
}
