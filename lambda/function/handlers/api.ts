import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { parseApiEvent } from '../adapters/entry-events.js';
import { handleApiEvent } from '../adapters/http-api/routes.js';
import { begin } from '../adapters/invocation.js';
import { recordBatch } from '../adapters/metrics.js';
import { coldStart } from './cold-start.js';

const app = coldStart();

/** The API function: API Gateway REST proxy events, and nothing else. */
export const handler = async (event: unknown, context: Context): Promise<APIGatewayProxyResult> => {
  const request = begin(app, context, () => parseApiEvent(event));
  return handleApiEvent(request, {
    batches: app.batches,
    remainingMs: context.getRemainingTimeInMillis(),
    log: app.log,
    onResult: (result) => recordBatch(app.metrics, result),
  });
};
