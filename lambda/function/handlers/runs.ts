import type { Context } from 'aws-lambda';
import { answerRunEvent } from '../adapters/answer-run.js';
import { coldStart } from './cold-start.js';

const app = coldStart();

/** The runs function: its own background jobs, and run envelopes (the schedule's, or a direct invocation's). */
export const handler = (event: unknown, context: Context) => answerRunEvent(event, context, app);
