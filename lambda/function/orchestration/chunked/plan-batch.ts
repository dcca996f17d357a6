import { type BatchJob, jobSize } from '../batch.js';
import { BatchRecords } from '../batch-records.js';
import { refuseEndedRun } from '../ended-runs.js';
import { executionOf } from '../engine.js';
import { plannedRecord } from '../lifecycle.js';
import { chunkConcurrency, planChunks } from '../plan.js';
import type { BatchPlan, Options } from './steps.js';

/**
 * Splits the batch into chunks and records it as running in `execution` (by default the one named
 * after the job), whose state its status reads; a run the batch cannot take writes nothing (refuseEndedRun).
 */
export async function planBatch(
  job: BatchJob,
  parallelChunks: number,
  options: Options & { execution?: string },
): Promise<BatchPlan> {
  const { config } = options;
  const records = new BatchRecords(options);
  await refuseEndedRun(job, records);
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
  await records.putStatus(plannedRecord(job, chunks.length, plan.startedAt, options.execution ?? executionOf(job)));
  return plan;
}
