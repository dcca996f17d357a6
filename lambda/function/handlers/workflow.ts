import type { Context } from 'aws-lambda';
import { answerStepEvent } from '../adapters/answer-step.js';
import { coldStart } from './cold-start.js';

const app = coldStart();

/** The workflow function: the batch state machine's steps (plan, chunk, aggregate, failure, heal). */
export const handler = (event: unknown, context: Context) => answerStepEvent(event, context, app);
