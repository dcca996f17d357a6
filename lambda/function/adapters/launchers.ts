import type { BatchJob, Launcher } from '../orchestration/jobs.js';
import { type AwsEndpoint, signedPoster } from './aws-post.js';

/** The event a background job arrives as: this function's own asynchronous invocation. */
export type JobEvent = { kind: 'picsum-batch.job'; job: BatchJob };

/**
 * Launches a 202 batch as an asynchronous invocation (`X-Amz-Invocation-Type: Event`) of the
 * function itself: one signed POST to the Lambda Invoke API.
 */
export function selfInvokeLauncher(options: Omit<AwsEndpoint, 'service'> & { functionName: string }): Launcher {
  const post = signedPoster({ ...options, service: 'lambda' });
  return async (job) => {
    const event: JobEvent = { kind: 'picsum-batch.job', job };
    const path = `/2015-03-31/functions/${encodeURIComponent(options.functionName)}/invocations`;
    const response = await post(
      path,
      { 'content-type': 'application/json', 'x-amz-invocation-type': 'Event' },
      JSON.stringify(event),
    );
    if (response.status !== 202) {
      throw new Error(`Lambda Invoke answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
    }
    await response.body?.cancel();
  };
}

/** Step Functions execution names: 1-80 characters of A-Z, a-z, 0-9, - and _. */
export const executionName = (batchId: string): string => batchId.replace(/[^A-Za-z0-9_-]/g, '-').slice(-80);

/**
 * Launches a batch over CHUNK_SIZE as an execution of the batch state machine, named after the
 * batch: Step Functions refuses a second execution of the same name, so a repeated launch cannot
 * run a batch twice.
 */
export function stepFunctionsLauncher(options: Omit<AwsEndpoint, 'service'> & { stateMachineArn: string }): Launcher {
  const post = signedPoster({ ...options, service: 'states' });
  return async (job) => {
    const response = await post(
      '/',
      { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AWSStepFunctions.StartExecution' },
      JSON.stringify({
        stateMachineArn: options.stateMachineArn,
        name: executionName(job.batchId),
        input: JSON.stringify(job),
      }),
    );
    if (response.status !== 200) {
      throw new Error(`StartExecution answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
    }
    await response.body?.cancel();
  };
}
