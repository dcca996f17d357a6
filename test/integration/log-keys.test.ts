import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { answerStepEvent } from '../../lambda/function/adapters/answer-step.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { BatchService } from '../../lambda/function/orchestration/batch-service.js';
import { planBatch } from '../../lambda/function/orchestration/chunked/index.js';
import { type Harness, startHarness } from '../support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(() => harness?.close());

const context = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'r-1' } as Context;

/** Every JSON log line the logger writes while `act` runs. */
async function linesOf(act: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await act().catch(() => {});
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return written
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('log keys', () => {
  it("never carry one invocation's batch and chunk into the next invocation's lines", async () => {
    const log = new Logger({ serviceName: 'picsum-batch', logLevel: 'INFO' });
    const app = {
      batches: new BatchService(harness.config, harness.deps),
      log,
      metrics: {
        addMetric: () => {},
        publishStoredMetrics: () => {},
        singleMetric: () => ({ addDimension: () => {}, addMetric: () => {} }),
      },
    };
    const request = parseRequest({ count: 1, width: 8, concurrency: 1 }, harness.config);
    const plan = await planBatch({ batchId: 'keys-batch', request }, 1, harness);
    const chunkEvent = {
      kind: 'picsum-batch.chunk',
      task: { batchId: 'keys-batch', request, concurrency: 1, startedAt: plan.startedAt, chunk: plan.chunks[0] },
    };

    const first = await linesOf(() => answerStepEvent(chunkEvent, context, app));
    const second = await linesOf(() => answerStepEvent({ count: 3 }, context, app));

    expect(first.find((line) => line.message === 'Chunk finished')).toMatchObject({ batchId: 'keys-batch', chunk: 0 });
    const refused = second.find((line) => line.message === 'Event refused');
    expect(refused).toBeDefined();
    expect(refused).not.toHaveProperty('batchId');
    expect(refused).not.toHaveProperty('chunk');
  });
});
