import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { stepFunctionsEngine } from '../../lambda/function/adapters/step-functions-engine.js';
import { executionOf } from '../../lambda/function/orchestration/engine.js';
import { type SignedRequest, startSigV4Server, TEST_CREDENTIALS } from '../support/sigv4-server.js';

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:picsum-batch-batches';
const job = { batchId: '20261125T094207Z-3f9a1c2b', request: { count: 5000 } as never };

/** A Step Functions stand-in answering with `answer`, and the engine pointed at it. */
async function statesAnswering(answer: (request: SignedRequest, res: ServerResponse) => void) {
  const states = await startSigV4Server('states', 'eu-west-1', answer);
  const engine = stepFunctionsEngine({
    stateMachineArn: ARN,
    region: 'eu-west-1',
    credentials: async () => TEST_CREDENTIALS,
    endpoint: states.url,
  });
  return { states, engine };
}

const reply = (res: ServerResponse, status: number, body: object, errorType?: string) =>
  res
    .writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    })
    .end(JSON.stringify(body));

describe('the Step Functions engine', () => {
  it('starts one signed execution of the batch state machine, named as asked, with the job as its input', async () => {
    const { states, engine } = await statesAnswering((_request, res) =>
      reply(res, 200, { executionArn: 'x', startDate: 1 }),
    );
    try {
      await engine.start(executionOf(job), job);

      const [call] = states.seen;
      expect(call?.signatureValid).toBe(true);
      expect(call?.headers['x-amz-target']).toBe('AWSStepFunctions.StartExecution');
      const body = JSON.parse(call?.body ?? '');
      expect(body).toMatchObject({ stateMachineArn: ARN, name: job.batchId });
      expect(JSON.parse(body.input)).toEqual(job);
    } finally {
      await states.close();
    }
  });

  it('refuses the name of an execution that ran already as such, and names retries and long ids within the rules', async () => {
    const { states, engine } = await statesAnswering((_request, res) =>
      reply(res, 400, { message: 'Execution Already Exists' }, 'ExecutionAlreadyExists'),
    );
    try {
      await expect(engine.start('b', job)).rejects.toMatchObject({
        name: 'ExecutionExistsError',
        message: 'An execution named b has run already',
      });
      expect(states.seen).toHaveLength(1);
    } finally {
      await states.close();
    }
    expect(executionOf({ batchId: 'b', retry: { run: 2, items: 3 } })).toBe('b-retry-2');
    const long = executionOf({ batchId: `${'n'.repeat(64)}-20261125T000000Z.x` });
    expect(long).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(long.endsWith('20261125T000000Z-x')).toBe(true);
  });

  it("rides out throttling with the SDK's retries, each try signed, and fails loudly when it lasts", async () => {
    let calls = 0;
    const { states, engine } = await statesAnswering((_request, res) => {
      calls++;
      if (calls <= 2 || calls >= 4) reply(res, 400, { message: 'Rate exceeded' }, 'ThrottlingException');
      else reply(res, 200, { executionArn: 'x', startDate: 1 });
    });
    try {
      await engine.start('b', job);
      expect(states.seen).toHaveLength(3);
      expect(states.seen.every((call) => call.signatureValid)).toBe(true);

      await expect(engine.start('c', job)).rejects.toThrow(/Rate exceeded/);
      // Four tries in all, the first included: bounded.
      expect(states.seen).toHaveLength(7);
    } finally {
      await states.close();
    }
    // The SDK's own backoff between tries, longer on throttling: seconds, not a timing assertion.
  }, 30_000);

  it('describes an execution by name: its status, times, requested count and error; none for a name never started', async () => {
    const { states, engine } = await statesAnswering((request, res) => {
      const { executionArn } = JSON.parse(request.body) as { executionArn: string };
      const name = executionArn.split(':').at(-1);
      if (name === 'missing') {
        reply(res, 400, { message: 'Execution Does Not Exist' }, 'ExecutionDoesNotExist');
        return;
      }
      if (name === 'denied') {
        reply(res, 400, { message: 'not allowed' }, 'AccessDeniedException');
        return;
      }
      const inputs: Record<string, string | undefined> = {
        b: JSON.stringify(job),
        envelope: JSON.stringify({ kind: 'picsum-batch.run' }),
        text: JSON.stringify({ request: { count: '5' } }),
        garbled: 'not json',
        none: undefined,
      };
      reply(res, 200, {
        executionArn,
        status: name === 'b' ? 'FAILED' : 'RUNNING',
        startDate: 1_796_000_000,
        ...(name === 'b' ? { stopDate: 1_796_000_060, error: 'States.Timeout', cause: 'The execution timed out' } : {}),
        ...(inputs[name ?? ''] === undefined ? {} : { input: inputs[name ?? ''] }),
      });
    });
    try {
      const described = await engine.describe('b');
      const missing = await engine.describe('missing');

      expect(JSON.parse(states.seen[0]?.body ?? '{}')).toEqual({
        executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:picsum-batch-batches:b',
      });
      expect(states.seen[0]?.headers['x-amz-target']).toBe('AWSStepFunctions.DescribeExecution');
      expect(described).toEqual({
        status: 'FAILED',
        startedAt: new Date(1_796_000_000_000).toISOString(),
        stoppedAt: new Date(1_796_000_060_000).toISOString(),
        requested: 5000,
        error: 'States.Timeout',
        cause: 'The execution timed out',
      });
      expect(missing).toBeUndefined();
      // An input that is not a job's says no count: an envelope, a count that is not a number, not JSON, none.
      const running = { status: 'RUNNING', startedAt: new Date(1_796_000_000_000).toISOString() };
      for (const name of ['envelope', 'text', 'garbled', 'none']) {
        expect(await engine.describe(name)).toStrictEqual(running);
      }
      // Any other refusal is not "no such execution": it is thrown.
      await expect(engine.describe('denied')).rejects.toThrow(/not allowed/);
    } finally {
      await states.close();
    }
  });
});
