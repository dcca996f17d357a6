import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { parseApiEvent } from './entry-events.js';
import { handleApiEvent } from './http-api/routes.js';
import { begin, type Invocation } from './invocation.js';
import { recordBatch } from './metrics.js';

/**
 * The API function's answer to one event: a REST API (v1) proxy event, routed with the time the
 * invocation has left; every batch it runs is counted in the metrics. Anything else is refused.
 */
export async function answerApiEvent(
  event: unknown,
  context: Context,
  app: Invocation,
): Promise<APIGatewayProxyResult> {
  const request = begin(app, context, () => parseApiEvent(event));
  return handleApiEvent(request, {
    batches: app.batches,
    remainingMs: context.getRemainingTimeInMillis(),
    log: app.log,
    onResult: (result) => recordBatch(app.metrics, result),
  });
}
