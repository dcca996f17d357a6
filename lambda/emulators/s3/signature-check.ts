import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3Error } from './s3-error.js';

export type Credentials = { accessKeyId: string; secretAccessKey: string };

/** What a checked request promises of its body. */
export type SignedPayload = {
  /** The body's SHA-256 in hex, when the signature covers it (`x-amz-content-sha256`). */
  sha256?: string;
};

/** The request as it came off the wire: the path still percent-encoded, as its signer saw it. */
export type WireRequest = { method: string; path: string; query: string; headers: IncomingHttpHeaders };

/** How far a signing clock may be from ours, as S3 allows. */
const MAX_SKEW_MS = 15 * 60_000;

const QUERY_AUTH = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders'];

/** A query string as SigV4 reads it: names and values percent-decoded, repeats kept. */
function parseQuery(query: string): Record<string, string | string[]> {
  const parsed: Record<string, string | string[]> = {};
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decodeURIComponent(equals < 0 ? pair : pair.slice(0, equals));
    const value = equals < 0 ? '' : decodeURIComponent(pair.slice(equals + 1));
    const before = parsed[name];
    parsed[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
  }
  return parsed;
}

/** `20261206T041500Z` as a Date, or undefined when it is not one. */
function amzDate(value: string | undefined): Date | undefined {
  const parts = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!parts) return undefined;
  const [, y, mo, d, h, mi, s] = parts;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const denied = (message: string) => new S3Error('AccessDenied', message);

/** The credential scope `AKID/20261206/us-east-1/s3/aws4_request`, checked against ours. */
function scopeOf(credential: string, credentials: Credentials, date: Date): { region: string } {
  const [accessKeyId, day, region, service, terminal, ...rest] = credential.split('/');
  if (accessKeyId !== credentials.accessKeyId) {
    throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  }
  if (!region || service !== 's3' || terminal !== 'aws4_request' || rest.length > 0) {
    throw denied(`The credential scope ${JSON.stringify(credential.slice(0, 200))} is not one for S3`);
  }
  if (day !== date.toISOString().slice(0, 10).replaceAll('-', '')) {
    throw denied('The credential scope is not of the request date');
  }
  return { region };
}

const signer = (credentials: Credentials, region: string) =>
  new SignatureV4({ credentials, region, service: 's3', sha256: Hash.bind(null, 'sha256'), uriEscapePath: false });

/** The headers named in a signed-headers list, with their values as received. */
function signedHeaders(list: string, headers: IncomingHttpHeaders): Record<string, string> {
  const names = list.split(';');
  if (!names.includes('host')) throw denied('The signature must cover the Host header');
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value === undefined) throw denied(`The signed header ${JSON.stringify(name.slice(0, 100))} is missing`);
    picked[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return picked;
}

function sameSignature(given: string, computed: string | undefined): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(computed ?? '');
  return a.length === b.length && timingSafeEqual(a, b);
}

function checkClock(date: Date, now: number): void {
  if (Math.abs(now - date.getTime()) > MAX_SKEW_MS) {
    throw new S3Error(
      'RequestTimeTooSkewed',
      "The difference between the request time and the server's time is too large.",
    );
  }
}

/** A request signed in its Authorization header. */
async function checkHeaderSignature(
  request: WireRequest,
  credentials: Credentials,
  now: number,
): Promise<SignedPayload> {
  const authorization = String(request.headers.authorization);
  const fields =
    /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!fields) throw denied('Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is accepted');
  const [, credential = '', list = '', signature = ''] = fields;
  const date = amzDate(request.headers['x-amz-date'] as string | undefined);
  if (!date) throw denied('A signed request needs an X-Amz-Date header');
  checkClock(date, now);
  const { region } = scopeOf(credential, credentials, date);
  const headers = signedHeaders(list, request.headers);
  const payload = headers['x-amz-content-sha256'];
  if (payload === undefined) throw denied('The signature must cover X-Amz-Content-SHA256');
  if (payload.startsWith('STREAMING-')) {
    throw new S3Error(
      'NotImplemented',
      "The embedded S3 does not take aws-chunked uploads: create the client with requestChecksumCalculation: 'WHEN_REQUIRED'",
    );
  }
  if (payload !== 'UNSIGNED-PAYLOAD' && !/^[0-9a-f]{64}$/.test(payload)) {
    throw new S3Error('InvalidArgument', 'X-Amz-Content-SHA256 must be UNSIGNED-PAYLOAD or a SHA-256 in hex');
  }
  const signed = await signer(credentials, region).sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: '',
      path: request.path,
      query: parseQuery(request.query),
      headers,
    },
    { signingDate: date, signableHeaders: new Set(Object.keys(headers)) },
  );
  const computed = /Signature=([0-9a-f]+)$/.exec(String(signed.headers.authorization))?.[1];
  if (!sameSignature(signature, computed)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  }
  return payload === 'UNSIGNED-PAYLOAD' ? {} : { sha256: payload };
}

/** A request signed in its query string (a presigned URL). */
async function checkQuerySignature(
  request: WireRequest,
  credentials: Credentials,
  now: number,
): Promise<SignedPayload> {
  const query = parseQuery(request.query);
  const single = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
  const signature = single('X-Amz-Signature') ?? '';
  const date = amzDate(single('X-Amz-Date'));
  const expires = Number(single('X-Amz-Expires'));
  if (single('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || !date || !/^[0-9a-f]{64}$/.test(signature)) {
    throw denied('A presigned request needs X-Amz-Algorithm AWS4-HMAC-SHA256, X-Amz-Date and X-Amz-Signature');
  }
  if (!Number.isInteger(expires) || expires < 1 || expires > 604_800) {
    throw denied('X-Amz-Expires must be a number of seconds from 1 to 604800');
  }
  if (now > date.getTime() + expires * 1000) throw denied('Request has expired');
  if (date.getTime() - now > MAX_SKEW_MS) checkClock(date, now);
  const { region } = scopeOf(single('X-Amz-Credential') ?? '', credentials, date);
  const headers = signedHeaders(single('X-Amz-SignedHeaders') ?? '', request.headers);
  // The signer hoists x-amz-* headers into the query: they go back to headers, for it to hoist again.
  const rest: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(query)) {
    if (name === 'X-Amz-Signature' || QUERY_AUTH.includes(name)) continue;
    if (name.toLowerCase().startsWith('x-amz-') && typeof value === 'string') headers[name] = value;
    else rest[name] = value;
  }
  const presigned = await signer(credentials, region).presign(
    { method: request.method, protocol: 'http:', hostname: '', path: request.path, query: rest, headers },
    { signingDate: date, expiresIn: expires, signableHeaders: new Set(single('X-Amz-SignedHeaders')?.split(';')) },
  );
  if (!sameSignature(signature, presigned.query?.['X-Amz-Signature'] as string | undefined)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  }
  return {};
}

/**
 * Checks a request's AWS Signature Version 4 (in its Authorization header, or in its query string
 * as a presigned URL carries it) against `credentials`, by signing the request again with the
 * SDK's own signer and comparing. Throws S3's own refusal (403) when there is none, it is not
 * ours, it is stale, or it does not match; returns what the signature promises of the body.
 */
export async function checkSignature(
  request: WireRequest,
  credentials: Credentials,
  now = Date.now(),
): Promise<SignedPayload> {
  if (request.headers.authorization !== undefined) return checkHeaderSignature(request, credentials, now);
  if (/(^|&)X-Amz-Signature=/.test(request.query)) return checkQuerySignature(request, credentials, now);
  throw denied('Requests to the embedded S3 must be signed (AWS Signature Version 4)');
}
