import type { Context } from 'aws-lambda';
import type { BatchResult } from '../contracts/result.js';
import type { BatchStatus } from '../orchestration/lifecycle.js';
import { scheduledJob } from '../orchestration/schedule.js';
import { parseRunEvent } from './entry-events.js';
import { afterRun, begin, deadlineFor, type Invocation } from './invocation.js';

/**
 * The runs function's answer: a background job (a 202 batch the API launched), or a run envelope
 * (the schedule's, or a direct invocation's), run here up to CHUNK_SIZE items; a larger run is
 * handed to the state machine once per scheduled time, and one whose launch failed is launched
 * again by the next delivery. A delivery of a batch that already ran answers its result.
 */
export async function answerRunEvent(
  event: unknown,
  context: Context,
  app: Invocation,
): Promise<BatchResult | BatchStatus> {
  const { batches, log } = app;
  const checked = begin(app, context, () => parseRunEvent(event, batches.config));
  const job = checked.kind === 'picsum-batch.job' ? checked.job : scheduledJob(checked);
  log.appendKeys({ batchId: job.batchId });
  const started = await batches.startOnce(job, {
    hereUpTo: batches.config.chunkSize,
    deadlineAt: deadlineFor(context),
  });
  if (!started.ranNow) {
    const { answer } = started;
    if ('status' in answer && answer.status === 'accepted')
      log.info('Batch accepted', { requested: job.request.count });
    else log.info('Batch already ran or started; returning its state', { status: answer.status });
    return answer;
  }
  const { result } = started;
  await afterRun(job, result, app);
  const { succeeded, failed, elapsedMs } = result;
  log.info('Batch finished', { succeeded, failed, elapsedMs });
  return result;
}
