import type { Context } from 'aws-lambda';
import { answerApiEvent } from '../adapters/answer-api.js';
import { coldStart } from './cold-start.js';

const app = coldStart();

/** The API function: API Gateway REST proxy events, and nothing else. */
export const handler = (event: unknown, context: Context) => answerApiEvent(event, context, app);
