// The batch metrics' names: the function writes them (adapters/metrics.ts), the stack's dashboard
// and alarms read them (infra/), with no metrics library loaded at synth.

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
