import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

export type SignedRequest = {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  signatureValid: boolean;
};

/** `20261125T094207Z` -> Date */
const parseAmzDate = (value: string) =>
  new Date(
    `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}T${value.slice(9, 11)}:${value.slice(11, 13)}:${value.slice(13, 15)}Z`,
  );

/**
 * A local HTTP server that checks SigV4: it signs what arrived again, with `credentials` and the
 * request's own date and signed headers, and records whether the signatures agree.
 */
export async function startSigV4Server(
  service: string,
  region: string,
  answer: (request: SignedRequest, res: ServerResponse) => void,
  credentials: { accessKeyId: string; secretAccessKey: string } = TEST_CREDENTIALS,
) {
  const seen: SignedRequest[] = [];
  const signer = new SignatureV4({ service, region, credentials, sha256: Hash.bind(null, 'sha256') });
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? '/', 'http://local');
    const signedHeaderNames = /SignedHeaders=([^,]+)/.exec(String(req.headers.authorization))?.[1]?.split(';') ?? [];
    const headers = Object.fromEntries(
      signedHeaderNames
        .filter((name) => !name.startsWith('x-amz-date'))
        .map((name) => [name, String(req.headers[name])]),
    );
    const expected = await signer.sign(
      {
        method: req.method ?? 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: body || undefined,
      },
      { signingDate: parseAmzDate(String(req.headers['x-amz-date'])) },
    );
    const request = {
      method: req.method ?? '',
      path: url.pathname,
      headers: req.headers,
      body,
      signatureValid: expected.headers.authorization === req.headers.authorization,
    };
    seen.push(request);
    answer(request, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
