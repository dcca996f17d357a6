import type { APIGatewayProxyResult } from 'aws-lambda';
import { RequestError } from '../../contracts/errors.js';

/** A JSON response that no cache keeps. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** `{error: {code, message, field?}}` for a RequestError; a generic 500 for anything else, never a stack. */
export function errorResponse(error: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  if (error instanceof RequestError) {
    const field = error.field === undefined ? {} : { field: error.field };
    return json(error.status, { error: { code: error.code, message: error.message, ...field } }, headers);
  }
  return json(
    500,
    { error: { code: 'INTERNAL', message: 'The batch could not be run; see the function logs' } },
    headers,
  );
}
