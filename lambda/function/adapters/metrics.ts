import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC_NAMES } from '../contracts/metric-names.js';
import type { BatchResult } from '../contracts/result.js';

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
