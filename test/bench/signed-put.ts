import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import { Agent, request } from 'undici';
import type { S3Sender } from '../../lambda/function/storage/s3-client.js';

/**
 * A diagnostic for the benchmark, never for the function: an S3 sender whose image PutObjects are
 * one SigV4-signed undici PUT each, with
 * every other call left to the SDK. It measures what the SDK's per-call work costs the pipeline.
 * Path-style to a local endpoint only; none of the SDK's endpoint rules, checksums or error parsing.
 */
export function signedPutSender(
  sdk: S3Client,
  options: { endpoint: string; region: string; credentials: AwsCredentialIdentity; connections: number },
): S3Sender {
  const endpoint = new URL(options.endpoint);
  const signer = new SignatureV4({
    service: 's3',
    region: options.region,
    credentials: options.credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
  const agent = new Agent({ connections: options.connections });
  const send = async (command: unknown, sendOptions?: unknown) => {
    const input = command instanceof PutObjectCommand ? command.input : undefined;
    if (!input || !Buffer.isBuffer(input.Body)) return sdk.send(command as never, sendOptions as never);
    const signal = (sendOptions as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
    const path = `/${input.Bucket}/${(input.Key ?? '').split('/').map(encodeURIComponent).join('/')}`;
    const headers: Record<string, string> = {
      host: endpoint.host,
      'content-type': input.ContentType ?? 'application/octet-stream',
      'content-length': String(input.Body.length),
      'x-amz-content-sha256': createHash('sha256').update(input.Body).digest('hex'),
    };
    for (const [name, value] of Object.entries(input.Metadata ?? {})) headers[`x-amz-meta-${name}`] = value;
    const signed = await signer.sign({
      method: 'PUT',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: Number(endpoint.port),
      path,
      query: {},
      headers,
    });
    const response = await request(new URL(path, endpoint), {
      dispatcher: agent,
      method: 'PUT',
      headers: signed.headers,
      body: input.Body,
      signal,
    });
    await response.body.dump();
    if (response.statusCode !== 200) {
      throw Object.assign(new Error(`PUT answered ${response.statusCode}`), {
        $metadata: { httpStatusCode: response.statusCode },
      });
    }
    return {};
  };
  return { send } as S3Sender;
}
