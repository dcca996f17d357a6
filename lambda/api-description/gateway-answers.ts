// What API Gateway answers on its own, in the API's one error shape. The stack makes a gateway
// response of each (infra/batch-api.ts); the dev server answers from the same table.
import type { APIGatewayProxyResult } from 'aws-lambda';
import { HTTP_STATUS, json } from '../function/adapters/http-api/responses.js';
import type { ErrorCode } from '../function/contracts/errors.js';

/** One of API Gateway's gateway response types this API answers in its own shape. */
export type GatewayAnswer = {
  /** API Gateway's response type. */
  type: string;
  code: ErrorCode;
  /** The status, when the type's own is not the one to answer (DEFAULT_4XX keeps each its own). */
  status?: number;
  /** A fixed message; without one, API Gateway's own (`$context.error.message`). */
  message?: string;
  headers?: Record<string, string>;
};

/** Seconds a throttled client should wait: the stage's bucket refills every second. */
export const THROTTLED_RETRY_AFTER_S = 1;

/** The largest payload API Gateway passes to an integration. */
export const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Every answer API Gateway gives before or instead of the function. Bodies are checked by the
 * function alone (it names the field and the value), and every route and method reaches it (it
 * answers 404 and 405), so what is left is the gateway's own: signatures, permissions,
 * throttling, size, and an integration that failed or ran past 29 s.
 */
export const GATEWAY_ANSWERS: readonly GatewayAnswer[] = [
  {
    type: 'MISSING_AUTHENTICATION_TOKEN',
    code: 'UNAUTHENTICATED',
    message: 'The request is not signed: sign it with SigV4, as a caller allowed execute-api:Invoke',
  },
  { type: 'INVALID_SIGNATURE', code: 'UNAUTHENTICATED' },
  { type: 'EXPIRED_TOKEN', code: 'UNAUTHENTICATED' },
  { type: 'INVALID_API_KEY', code: 'UNAUTHENTICATED' },
  { type: 'ACCESS_DENIED', code: 'FORBIDDEN' },
  { type: 'WAF_FILTERED', code: 'FORBIDDEN' },
  { type: 'THROTTLED', code: 'THROTTLED', headers: { 'retry-after': String(THROTTLED_RETRY_AFTER_S) } },
  { type: 'QUOTA_EXCEEDED', code: 'THROTTLED', headers: { 'retry-after': '60' } },
  {
    type: 'REQUEST_TOO_LARGE',
    code: 'BODY_TOO_LARGE',
    message: `Request body is over ${GATEWAY_MAX_BODY_BYTES / 1024 / 1024} MB`,
  },
  { type: 'RESOURCE_NOT_FOUND', code: 'NOT_FOUND' },
  { type: 'BAD_REQUEST_PARAMETERS', code: 'INVALID_REQUEST' },
  { type: 'BAD_REQUEST_BODY', code: 'INVALID_BODY' },
  { type: 'UNSUPPORTED_MEDIA_TYPE', code: 'UNSUPPORTED_MEDIA_TYPE' },
  { type: 'INTEGRATION_FAILURE', code: 'INTEGRATION_FAILED' },
  {
    type: 'INTEGRATION_TIMEOUT',
    code: 'INTEGRATION_TIMEOUT',
    message: 'The function did not answer within 29 s; GET the batch to see whether it finished',
  },
  { type: 'DEFAULT_4XX', code: 'REFUSED' },
  { type: 'DEFAULT_5XX', code: 'GATEWAY_ERROR' },
];

/** The status a gateway answer is given: its own, else its code's (DEFAULT_4XX keeps each refusal's). */
export const statusOf = (answer: GatewayAnswer): number | undefined =>
  answer.type === 'DEFAULT_4XX' ? undefined : (answer.status ?? HTTP_STATUS[answer.code]);

/**
 * The response template API Gateway fills in: `{error: {code, message}}`, its own message as a
 * JSON string (`$context.error.messageString`) unless the answer fixes one.
 */
export const gatewayTemplate = (answer: GatewayAnswer): string =>
  answer.message === undefined
    ? `{"error":{"code":"${answer.code}","message":$context.error.messageString}}`
    : JSON.stringify({ error: { code: answer.code, message: answer.message } });

/** The answer of `type` as API Gateway gives it, for the dev server: the same code, status, message and headers. */
export function gatewayAnswer(type: string, message?: string): APIGatewayProxyResult {
  const answer = GATEWAY_ANSWERS.find((each) => each.type === type);
  if (!answer) throw new Error(`No gateway answer of type ${type}`);
  return json(
    statusOf(answer) ?? 400,
    { error: { code: answer.code, message: answer.message ?? message ?? type } },
    answer.headers,
  );
}
