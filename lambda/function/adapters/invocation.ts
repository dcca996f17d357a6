// What every entry's invocation shares: its batch service, log and metrics, its clock, its refusals.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { BatchService } from '../orchestration/batch-service.js';
import type { MetricsSink } from './metrics.js';

/** Everything an invocation needs, made once per cold start (see handlers/). */
export type Invocation = { batches: BatchService; log: Logger; metrics: MetricsSink };

/** The invocation's deadline: 5 s before Lambda stops it, to write the manifest and return. */
export const deadlineFor = (context: Context) => Date.now() + context.getRemainingTimeInMillis() - 5_000;

/**
 * Starts an invocation's log (keys never outlive their invocation) and parses its event with the
 * entry's own parser; a refused event is logged and thrown, and nothing starts.
 */
export function begin<T>(app: Invocation, context: Context, parse: () => T): T {
  app.log.resetKeys();
  app.log.addContext(context);
  try {
    return parse();
  } catch (error) {
    app.log.error('Event refused', { error });
    throw error;
  }
}
