import { describe, expect, it } from 'vitest';
import { executionName, jobLauncher, stepFunctionsLaunchers } from '../../lambda/function/adapters/launchers.js';
import { startSigV4Server, TEST_CREDENTIALS } from '../support/sigv4-server.js';

/** A Lambda stand-in answering with `answer`, and the job launcher (the runs function's invocation) pointed at it. */
async function lambdaAnswering(answer: Parameters<typeof startSigV4Server>[2], functionName = 'f') {
  const lambda = await startSigV4Server('lambda', 'eu-west-1', answer);
  const launch = jobLauncher({
    functionName,
    region: 'eu-west-1',
    credentials: async () => TEST_CREDENTIALS,
    endpoint: lambda.url,
  });
  return { lambda, launch };
}

describe('the job launcher', () => {
  it('sends the job as a signed asynchronous Lambda invocation of the runs function', async () => {
    const { lambda, launch } = await lambdaAnswering((_request, res) => res.writeHead(202).end(), 'picsum-batch-fn');
    try {
      const job = {
        batchId: 'b-1',
        request: {
          count: 500,
          width: 600,
          height: 600,
          concurrency: 16,
          grayscale: false,
          blur: undefined,
          format: 'jpg' as const,
          seed: undefined,
          distinct: false,
          ids: undefined,
        },
      };

      await launch(job);

      const [call] = lambda.seen;
      expect(call?.method).toBe('POST');
      expect(call?.path).toBe('/2015-03-31/functions/picsum-batch-fn/invocations');
      expect(call?.headers['x-amz-invocation-type']).toBe('Event');
      expect(call?.signatureValid).toBe(true);
      expect(JSON.parse(call?.body ?? '')).toEqual({ kind: 'picsum-batch.job', job: JSON.parse(JSON.stringify(job)) });
    } finally {
      await lambda.close();
    }
  });

  it('fails loudly when Lambda refuses the invocation, without retrying a refusal', async () => {
    const { lambda, launch } = await lambdaAnswering((_request, res) =>
      res
        .writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' })
        .end('{"message":"not allowed"}'),
    );
    try {
      await expect(launch({ batchId: 'b', request: {} as never })).rejects.toThrow(/not allowed/);
      expect(lambda.seen).toHaveLength(1);
    } finally {
      await lambda.close();
    }
  });

  it("rides out throttling with the SDK's retries, each try signed", async () => {
    let calls = 0;
    const { lambda, launch } = await lambdaAnswering((_request, res) => {
      calls++;
      if (calls <= 2) {
        res
          .writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'TooManyRequestsException' })
          .end('{"message":"Rate exceeded","Reason":"CallerRateLimitExceeded"}');
      } else {
        res.writeHead(202).end();
      }
    });
    try {
      await launch({ batchId: 'b', request: {} as never });

      expect(lambda.seen).toHaveLength(3);
      expect(lambda.seen.every((call) => call.signatureValid)).toBe(true);
    } finally {
      await lambda.close();
    }
  });
});

describe('the Step Functions launcher', () => {
  const job = { batchId: '20261125T094207Z-3f9a1c2b', request: { count: 5000 } as never };
  const arn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:picsum-batch-batches';
  /** A Step Functions stand-in answering `status` and `body`, and the launcher pointed at it. */
  async function statesAnswering(status: number, body: string) {
    const states = await startSigV4Server('states', 'eu-west-1', (_request, res) =>
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(body),
    );
    const { chunked: launch } = stepFunctionsLaunchers({
      stateMachineArn: arn,
      region: 'eu-west-1',
      credentials: async () => TEST_CREDENTIALS,
      endpoint: states.url,
    });
    return { states, launch };
  }

  it('starts one signed execution named after the batch, with the job as its input', async () => {
    const { states, launch } = await statesAnswering(200, '{"executionArn":"x","startDate":1}');
    try {
      await launch(job);

      const [call] = states.seen;
      expect(call?.signatureValid).toBe(true);
      expect(call?.headers['x-amz-target']).toBe('AWSStepFunctions.StartExecution');
      expect(call?.headers['content-type']).toBe('application/x-amz-json-1.0');
      const body = JSON.parse(call?.body ?? '');
      expect(body).toMatchObject({ stateMachineArn: arn, name: job.batchId });
      expect(JSON.parse(body.input)).toEqual(job);
    } finally {
      await states.close();
    }
  });

  it('fails loudly when Step Functions refuses, and names executions within its rules', async () => {
    const { states, launch } = await statesAnswering(
      400,
      '{"__type":"com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists","message":"Execution Already Exists"}',
    );
    try {
      await expect(launch(job)).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    } finally {
      await states.close();
    }
    const long = executionName(`${'n'.repeat(64)}-20261125T000000Z.x`);
    expect(long).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(long.endsWith('20261125T000000Z-x')).toBe(true);
  });
});
