import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { recordBatch } from '../../lambda/function/adapters/metrics.js';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { METRICS_NAMESPACE } from '../../lambda/function/contracts/metric-names.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { ItemOutcome } from '../../lambda/function/contracts/result.js';
import { summarize } from '../../lambda/function/orchestration/batch.js';

const config = loadConfig({ BUCKET_NAME: 'b' });
const request = parseRequest({ count: 4, width: 8 }, config);
const stored = (index: number, latencyMs: number): ItemOutcome => ({
  index,
  ok: true,
  key: `images/x/${index}.jpg`,
  bytes: 10,
  sha256: 'sha',
  attempts: 1,
  latencyMs,
});
const failed = (index: number, reason: 'timeout' | 'source_status'): ItemOutcome => ({
  index,
  ok: false,
  reason,
  message: 'no',
  attempts: 3,
  latencyMs: 900,
});
const run = { startedAt: new Date(1_000), finishedAt: new Date(3_000), elapsedMs: 2_000, cancelled: false };
const summaryOf = (items: ItemOutcome[]) => summarize(items, { ...run, batchId: 'x', request, concurrency: 4, config });

afterEach(() => {
  vi.restoreAllMocks();
});

/** What Powertools writes for one batch's metrics: its EMF lines, parsed. */
function emfLinesOf(items: ItemOutcome[]) {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'test-service' });
  recordBatch(metrics, summaryOf(items));
  vi.restoreAllMocks();
  return lines.map(
    (line) =>
      JSON.parse(line) as Record<string, unknown> & {
        _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
      },
  );
}

describe("a batch's metrics, as Powertools writes them (EMF)", () => {
  it("counts images stored and failed, the batch duration and its stored items' latency, under the service", () => {
    const [batch] = emfLinesOf([stored(0, 100), stored(1, 300), failed(2, 'timeout')]);
    expect(batch).toMatchObject({
      service: 'test-service',
      ImagesStored: 2,
      ImagesFailed: 1,
      BatchElapsedMs: 2_000,
      // The result's percentiles: over the items stored (nearest rank).
      ItemLatencyP50Ms: 100,
      ItemLatencyP99Ms: 300,
    });
    expect(batch?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
  });

  it('counts failed images by reason, one line each with its reason as a dimension', () => {
    const [, ...byReason] = emfLinesOf([failed(0, 'timeout'), failed(1, 'timeout'), failed(2, 'source_status')]);
    expect(byReason.map((line) => [line.reason, line.ImagesFailedByReason])).toEqual([
      ['timeout', 2],
      ['source_status', 1],
    ]);
    for (const line of byReason) {
      expect(line._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'reason']]);
    }
  });

  it('reports no item latency for a batch in which no item ran', () => {
    const [batch] = emfLinesOf([]);
    expect(batch).not.toHaveProperty('ItemLatencyP50Ms');
    expect(batch).toMatchObject({ ImagesStored: 0, ImagesFailed: 0 });
  });
});
