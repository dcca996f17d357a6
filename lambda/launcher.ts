import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { BatchJob, Launcher } from './jobs.js';

/** The event a background job arrives as: this function's own asynchronous invocation. */
export type JobEvent = { kind: 'picsum-batch.job'; job: BatchJob };

/**
 * Launches a 202 batch as an asynchronous invocation (`X-Amz-Invocation-Type: Event`) of the
 * function itself. One signed POST to the Lambda Invoke API: the whole Lambda SDK client would add
 * 130 KB to every cold start for this one call.
 */
export function selfInvokeLauncher(options: {
  functionName: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
  /** Defaults to the regional Lambda endpoint; tests point it at a local server. */
  endpoint?: string;
}): Launcher {
  const signer = new SignatureV4({
    service: 'lambda',
    region: options.region,
    credentials: options.credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
  const endpoint = new URL(options.endpoint ?? `https://lambda.${options.region}.amazonaws.com`);
  return async (job) => {
    const event: JobEvent = { kind: 'picsum-batch.job', job };
    const body = JSON.stringify(event);
    const path = `/2015-03-31/functions/${encodeURIComponent(options.functionName)}/invocations`;
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path,
      query: {},
      headers: { host: endpoint.host, 'content-type': 'application/json', 'x-amz-invocation-type': 'Event' },
      body,
    });
    const response = await fetch(new URL(path, endpoint), { method: 'POST', headers: signed.headers, body });
    if (response.status !== 202) {
      throw new Error(`Lambda Invoke answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
    }
    await response.body?.cancel();
  };
}
