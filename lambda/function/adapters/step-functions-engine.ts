import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { type BatchEngine, type Execution, ExecutionExistsError } from '../orchestration/engine.js';

/** Where and as whom to call Step Functions; the SDK's defaults fill in the rest. */
export type AwsClientOptions = {
  region: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** A local stand-in (tests); deployed, the SDK's own endpoint (it honours AWS_ENDPOINT_URL_*). */
  endpoint?: string | undefined;
  /** Tries per call, the first included; the SDK backs off between them, longer on throttling. */
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
    made ??= make();
    return made;
  };
}

/** How many items an execution's input asks for, when it is a job (`{request: {count}}`). */
function requestedOf(input: string | undefined): number | undefined {
  let count: unknown;
  try {
    count = (JSON.parse(input ?? '') as { request: { count: unknown } }).request.count;
  } catch {
    // Not a job's input: no JSON, or no request in it.
  }
  return typeof count === 'number' ? count : undefined;
}

/**
 * The batch state machine as the engine, with @aws-sdk/client-sfn (loaded on first use: a batch
 * answered inside its request never pays for it) and the SDK's retries. StartExecution with a name
 * that runs, and the same input, answers as started; with one that ended it refuses
 * (ExecutionAlreadyExists), so a batch starts once.
 */
export function stepFunctionsEngine(options: AwsClientOptions & { stateMachineArn: string }): BatchEngine {
  const client = once(async () => {
    const sfn = await import('@aws-sdk/client-sfn');
    return { states: new sfn.SFNClient(clientConfig(options)), sfn };
  });
  // arn:aws:states:region:account:stateMachine:name -> arn:aws:states:region:account:execution:name:
  const executionArn = (name: string) => `${options.stateMachineArn.replace(/:stateMachine:/, ':execution:')}:${name}`;
  return {
    async start(name, job) {
      const { states, sfn } = await client();
      try {
        await states.send(
          new sfn.StartExecutionCommand({ stateMachineArn: options.stateMachineArn, name, input: JSON.stringify(job) }),
        );
      } catch (error) {
        if (error instanceof sfn.ExecutionAlreadyExists) throw new ExecutionExistsError(name);
        throw error;
      }
    },
    async describe(name): Promise<Execution | undefined> {
      const { states, sfn } = await client();
      try {
        const described = await states.send(new sfn.DescribeExecutionCommand({ executionArn: executionArn(name) }));
        const requested = requestedOf(described.input);
        return {
          // Step Functions always says: the SDK's type leaves it optional.
          status: described.status as Execution['status'],
          startedAt: (described.startDate ?? new Date()).toISOString(),
          ...(described.stopDate ? { stoppedAt: described.stopDate.toISOString() } : {}),
          ...(requested !== undefined ? { requested } : {}),
          ...(described.error ? { error: described.error } : {}),
          ...(described.cause ? { cause: described.cause } : {}),
        };
      } catch (error) {
        if (error instanceof sfn.ExecutionDoesNotExist) return undefined;
        throw error;
      }
    },
  };
}
