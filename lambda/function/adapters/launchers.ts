import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { HealLauncher, Launcher } from '../orchestration/batch-service.js';
import type { ExecutionInput } from '../orchestration/chunked/index.js';
import type { JobEvent } from './entry-events.js';

/** Where and as whom to call Lambda or Step Functions; the SDK's defaults fill in the rest. */
export type AwsClientOptions = {
  region: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** A local stand-in (tests); deployed, the SDK's own endpoint (it honours AWS_ENDPOINT_URL_*). */
  endpoint?: string | undefined;
  /** Tries per launch, the first included; the SDK backs off between them, longer on throttling. */
  maxAttempts?: number;
};

/** Enough to ride out a throttled burst and still answer well inside API Gateway's 29 s. */
const LAUNCH_ATTEMPTS = 4;

/** An AWS SDK client's config: the endpoint override when set, and LAUNCH_ATTEMPTS attempts unless told. */
export const clientConfig = ({ endpoint, maxAttempts, ...rest }: AwsClientOptions) => ({
  ...rest,
  ...(endpoint ? { endpoint } : {}),
  maxAttempts: maxAttempts ?? LAUNCH_ATTEMPTS,
});

/** Creates `make()` once, on first use. */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make().catch((error: unknown) => {
      made = undefined;
      throw error;
    });
    return made;
  };
}

/**
 * Launches a 202 batch as an asynchronous invocation (`InvocationType: Event`) of the runs
 * function, with @aws-sdk/client-lambda and its retries. The client is loaded on the first launch:
 * synchronous batches never pay for it.
 */
export function jobLauncher(options: AwsClientOptions & { functionName: string }): Launcher {
  const client = once(async () => {
    const { LambdaClient, InvokeCommand } = await import('@aws-sdk/client-lambda');
    return { lambda: new LambdaClient(clientConfig(options)), InvokeCommand };
  });
  return async (job) => {
    const { lambda, InvokeCommand } = await client();
    const event: JobEvent = { kind: 'picsum-batch.job', job };
    await lambda.send(
      new InvokeCommand({
        FunctionName: options.functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(event)),
      }),
    );
  };
}

/** Step Functions execution names: 1-80 characters of A-Z, a-z, 0-9, - and _. */
export const executionName = (batchId: string): string => batchId.replace(/[^A-Za-z0-9_-]/g, '-').slice(-80);

/** Starts executions of the batch state machine, with @aws-sdk/client-sfn (loaded on first use) and its retries. */
function stateMachineStarter(options: AwsClientOptions & { stateMachineArn: string }) {
  const client = once(async () => {
    const { SFNClient, StartExecutionCommand } = await import('@aws-sdk/client-sfn');
    return { states: new SFNClient(clientConfig(options)), StartExecutionCommand };
  });
  return async (name: string, input: ExecutionInput) => {
    const { states, StartExecutionCommand } = await client();
    await states.send(
      new StartExecutionCommand({
        stateMachineArn: options.stateMachineArn,
        name: executionName(name),
        input: JSON.stringify(input),
      }),
    );
  };
}

/**
 * The batch state machine's two launchers, sharing one client. `chunked` starts a batch over
 * CHUNK_SIZE, named after the batch (and its retry run): Step Functions refuses a second execution
 * of the same name, so a repeated launch cannot run a batch twice; the same name with the same input
 * is answered as started, so relaunching after a lost answer is safe. `heal` starts a scheduled
 * batch's healing, `{batchId}-heal` (so at most one per batch), which waits `delaySeconds`, then
 * sends the function the heal event.
 */
export function stepFunctionsLaunchers(options: AwsClientOptions & { stateMachineArn: string }): {
  chunked: Launcher;
  heal: HealLauncher;
} {
  const start = stateMachineStarter(options);
  return {
    chunked: (job) => start(job.retry ? `${job.batchId}-retry-${job.retry.run}` : job.batchId, job),
    heal: (heal) => start(`${heal.batchId}-heal`, { heal }),
  };
}
