// A REST proxy event read as HTTP: its headers, its JSON body (bounded, typed), its path segments.
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { RequestError } from '../../contracts/errors.js';

/** Largest request body accepted (API Gateway itself allows 10 MB). */
export const MAX_BODY_BYTES = 1024 * 1024;

export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value ?? undefined;
  return undefined;
}

export function readJsonBody(event: APIGatewayProxyEvent): unknown {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw new RequestError(`Request body is over ${MAX_BODY_BYTES} bytes`, { code: 'BODY_TOO_LARGE' });
  }
  // No body is the empty request: every field its default (the OpenAPI document marks the body
  // optional). Web pages cannot send one unasked: the deployed API takes only SigV4-signed calls,
  // and the dev server refuses any Origin but its own.
  if (text.trim() === '') return {};
  const contentType = header(event, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/json') {
    throw new RequestError(`Expected Content-Type application/json, got ${JSON.stringify(contentType ?? '')}`, {
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RequestError('Request body is not valid JSON', { code: 'INVALID_JSON', field: 'body' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const got = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
    throw new RequestError(`Expected the request body to be a JSON object, got ${got}`, {
      code: 'INVALID_BODY',
      field: 'body',
    });
  }
  return body;
}
