import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { request } from 'undici';

/** The region in an execute-api host name (`abc123.execute-api.eu-west-1.amazonaws.com`), if there is one. */
export function regionFromApiUrl(url: URL): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];
}

export type SignedResponse = { status: number; body: unknown };

/**
 * Calls an IAM-authorized API Gateway API with SigV4 (service `execute-api`), signing with the
 * caller's own credentials: environment, profile, SSO, instance role — the SDK's usual chain.
 */
export function signedClient(options: { baseUrl: URL; region: string; credentials?: AwsCredentialIdentityProvider }) {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials ?? fromNodeProviderChain(),
    sha256: Hash.bind(null, 'sha256'),
  });
  return async function call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<SignedResponse> {
    const url = new URL(path.replace(/^\//, ''), options.baseUrl);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: {
        host: url.host,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...extraHeaders,
      },
      body: payload,
    });
    const response = await request(url, { method, headers: signed.headers, body: payload });
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // API Gateway answers some refusals (e.g. a bad signature) in plain text; keep it as is.
    }
    return { status: response.statusCode, body: parsed };
  };
}
