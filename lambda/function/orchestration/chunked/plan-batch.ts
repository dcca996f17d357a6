import { type BatchJob, jobSize } from '../batch.js';
import { chunkConcurrency, planChunks } from '../plan.js';
import { type BatchStatus, putStatus } from '../status.js';
import type { BatchPlan, Options } from './steps.js';

/** Splits the batch into chunks and records it as running. */
export async function planBatch(job: BatchJob, parallelChunks: number, options: Options): Promise<BatchPlan> {
  const { config, deps } = options;
  const { retry } = job;
  const chunks = planChunks(jobSize(job), config.chunkSize).map((chunk) =>
    retry ? { ...chunk, retry: retry.run } : chunk,
  );
  const plan: BatchPlan = {
    batchId: job.batchId,
    request: job.request,
    ...(retry ? { retry } : {}),
    ...(job.scheduled ? { scheduled: true as const } : {}),
    concurrency: chunkConcurrency(job.request.concurrency, Math.min(parallelChunks, chunks.length), config),
    parallelChunks: Math.min(parallelChunks, chunks.length),
    startedAt: new Date().toISOString(),
    chunks,
  };
  const status: BatchStatus = {
    batchId: job.batchId,
    status: 'running',
    requested: job.request.count,
    done: 0,
    succeeded: 0,
    failed: 0,
    chunks: { total: chunks.length, done: 0 },
    plannedAt: plan.startedAt,
    ...(retry ? { retry } : {}),
  };
  await putStatus(status, config, deps);
  return plan;
}
