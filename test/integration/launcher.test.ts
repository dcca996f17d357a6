import { describe, expect, it } from 'vitest';
import { selfInvokeLauncher } from '../../lambda/launcher.js';
import { startSigV4Server, TEST_CREDENTIALS } from '../support/sigv4-server.js';

describe('the self-invoking launcher', () => {
  it('sends the job as a signed asynchronous Lambda invocation of the function', async () => {
    const lambda = await startSigV4Server('lambda', 'eu-west-1', (_request, res) => res.writeHead(202).end());
    try {
      const launch = selfInvokeLauncher({
        functionName: 'picsum-batch-fn',
        region: 'eu-west-1',
        credentials: async () => TEST_CREDENTIALS,
        endpoint: lambda.url,
      });
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

  it('fails loudly when Lambda refuses the invocation', async () => {
    const lambda = await startSigV4Server('lambda', 'eu-west-1', (_request, res) =>
      res.writeHead(403).end('{"message":"not allowed"}'),
    );
    try {
      const launch = selfInvokeLauncher({
        functionName: 'f',
        region: 'eu-west-1',
        credentials: async () => TEST_CREDENTIALS,
        endpoint: lambda.url,
      });
      await expect(launch({ batchId: 'b', request: {} as never })).rejects.toThrow(/HTTP 403/);
    } finally {
      await lambda.close();
    }
  });
});
