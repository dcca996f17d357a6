import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BatchResult } from '../contracts/result.js';

/** CloudWatch namespace of the batch metrics; the stack's alarms read the same names. */
export const METRICS_NAMESPACE = 'PicsumBatch';

export const METRIC_NAMES = {
  stored: 'ImagesStored',
  failed: 'ImagesFailed',
  bytes: 'BytesStored',
  elapsed: 'BatchElapsedMs',
  /** The batch's own item latency percentiles, one value per batch. */
  itemLatencyP50: 'ItemLatencyP50Ms',
  itemLatencyP99: 'ItemLatencyP99Ms',
  /** Failed images with a `reason` dimension (source_status, timeout, ...), one line per reason. */
  failedByReason: 'ImagesFailedByReason',
  /** Batch events EventBridge did not take (the batch stands; see batch-events.ts). */
  eventsFailed: 'BatchEventsFailed',
} as const;

type AddMetric = (name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number) => unknown;

/** The part of Powertools' Metrics that batches use. */
export type MetricsSink = {
  addMetric: AddMetric;
  publishStoredMetrics(): unknown;
  /** A metric with a dimension of its own, published as it is added (Powertools' singleMetric). */
  singleMetric(): { addDimension(name: string, value: string): unknown; addMetric: AddMetric };
};

/** Emits one batch's metrics as an EMF log line. */
export function recordBatch(metrics: MetricsSink, result: BatchResult): void {
  metrics.addMetric(METRIC_NAMES.stored, MetricUnit.Count, result.succeeded);
  metrics.addMetric(METRIC_NAMES.failed, MetricUnit.Count, result.failed);
  metrics.addMetric(METRIC_NAMES.bytes, MetricUnit.Bytes, result.bytes);
  metrics.addMetric(METRIC_NAMES.elapsed, MetricUnit.Milliseconds, result.elapsedMs);
  // A batch with no item that ran has no latency to report.
  if (result.succeeded + result.failed > 0) {
    metrics.addMetric(METRIC_NAMES.itemLatencyP50, MetricUnit.Milliseconds, result.latencyMs.p50);
    metrics.addMetric(METRIC_NAMES.itemLatencyP99, MetricUnit.Milliseconds, result.latencyMs.p99);
  }
  metrics.publishStoredMetrics();
  for (const [reason, count] of Object.entries(result.failureCounts)) {
    const byReason = metrics.singleMetric();
    byReason.addDimension('reason', reason);
    byReason.addMetric(METRIC_NAMES.failedByReason, MetricUnit.Count, count ?? 0);
  }
}
