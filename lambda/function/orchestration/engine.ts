// The engine that runs batches beyond one request: Step Functions when deployed, the same
// definition in-process locally (local/local-engine.ts). Its executions are the batches' state.

import { AppError } from '../contracts/errors.js';
import type { BatchJob } from './batch.js';

/** What the engine knows of one execution, as Step Functions' DescribeExecution says it. */
export type Execution = {
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  startedAt: string;
  stoppedAt?: string;
  /** How many items its input asks for, when it is a job. */
  requested?: number;
  /** Why it stopped, when it failed: Step Functions' error and cause. */
  error?: string;
  cause?: string;
};

/**
 * Starts and describes executions of the batch state machine, by name. `start` with the name of an
 * execution that runs already, with the same input, answers as started and starts nothing (as
 * StartExecution does), and with the name of one that ended throws ExecutionExistsError.
 * `describe` answers undefined for a name it never started.
 */
export type BatchEngine = {
  start(name: string, job: BatchJob): Promise<void>;
  describe(name: string): Promise<Execution | undefined>;
};

/** A start refused because an execution of that name ran already (Step Functions keeps names 90 days). */
export class ExecutionExistsError extends AppError {
  constructor(name: string) {
    super('EXECUTION_EXISTS', `An execution named ${name} has run already`);
    this.name = 'ExecutionExistsError';
  }
}

/** Step Functions execution names: 1-80 characters of A-Z, a-z, 0-9, - and _. */
const asExecutionName = (name: string): string => name.replace(/[^A-Za-z0-9_-]/g, '-').slice(-80);

/** The execution a job runs as: named after its batch, and its retry run, so each starts at most once. */
export const executionOf = (job: Pick<BatchJob, 'batchId' | 'retry'>): string =>
  asExecutionName(job.retry ? `${job.batchId}-retry-${job.retry.run}` : job.batchId);
