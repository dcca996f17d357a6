// The API's routes: one REST proxy event in, one JSON answer out.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { RequestError } from '../../contracts/errors.js';
import type { ApiContext } from './api-context.js';
import { getBatch, getBatches, methodNotAllowed, retryBatch } from './batch-routes.js';
import { decodeSegment } from './http-request.js';
import { postBatch } from './post-batch.js';
import { errorResponse } from './responses.js';

export type { ApiContext, ApiLog } from './api-context.js';

/**
 * Answers an API Gateway REST proxy event: `GET /batches`, `POST /batches`, `GET /batches/{batchId}`,
 * `POST /batches/{batchId}/retry`.
 * Every failure is a JSON `{error: {code, message, field?}}`; nothing throws out of here.
 */
export async function handleApiEvent(event: APIGatewayProxyEvent, given: ApiContext): Promise<APIGatewayProxyResult> {
  const path = (event.path ?? '/').replace(/\/+$/, '') || '/';
  const method = event.httpMethod.toUpperCase();
  // API Gateway's requestContext.path is the path as called (`/v1/batches`); `path` is the resource's (`/batches`).
  const called = event.requestContext?.path;
  const basePath = typeof called === 'string' && called.endsWith(event.path) ? called.slice(0, -event.path.length) : '';
  const context: ApiContext = { ...given, basePath };
  try {
    if (path === '/batches') {
      if (method === 'GET') return await getBatches(event, context);
      return method === 'POST' ? await postBatch(event, context) : methodNotAllowed('GET, POST', method);
    }
    const match = /^\/batches\/([^/]+)(\/retry)?$/.exec(path);
    if (match?.[1] !== undefined) {
      const batchId = event.pathParameters?.batchId ?? decodeSegment(match[1]);
      if (match[2] !== undefined) {
        return method === 'POST' ? await retryBatch(batchId, event, context) : methodNotAllowed('POST', method);
      }
      return method === 'GET' ? await getBatch(batchId, context) : methodNotAllowed('GET', method);
    }
    throw new RequestError(`No route for ${method} ${path}`, { code: 'NOT_FOUND' });
  } catch (error) {
    if (!(error instanceof RequestError)) context.log.error('Request failed', { method, path, error });
    return errorResponse(error);
  }
}
