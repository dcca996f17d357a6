import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

/** Where and as whom to call an AWS service API. */
export type AwsEndpoint = {
  service: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
  /** Defaults to `https://{service}.{region}.amazonaws.com`; tests point it at a local server. */
  endpoint?: string | undefined;
};

/**
 * A SigV4-signed POST to an AWS API. For the one or two calls this function makes to Lambda and
 * Step Functions: their SDK clients would add over 100 KB each to every cold start.
 */
export function signedPoster(options: AwsEndpoint) {
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: options.credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
  const endpoint = new URL(options.endpoint ?? `https://${options.service}.${options.region}.amazonaws.com`);
  return async (path: string, headers: Record<string, string>, body: string): Promise<Response> => {
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path,
      query: {},
      headers: { host: endpoint.host, ...headers },
      body,
    });
    return fetch(new URL(path, endpoint), { method: 'POST', headers: signed.headers, body });
  };
}
