// The shapes the API answers with, as JSON Schemas (2020-12) for docs/openapi.json: each mirrors a type in contracts/.
import { ERROR_CODES, type ErrorCode, FAILURE_REASONS } from '../../contracts/errors.js';
import { BATCH_ID_PATTERN } from '../../contracts/request.js';
import type { JsonSchema } from '../../contracts/request-schema.js';
import { HTTP_STATUS } from './responses.js';

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const integer = (minimum = 0): JsonSchema => ({ type: 'integer', minimum });
export const string: JsonSchema = { type: 'string' };
const time: JsonSchema = { type: 'string', format: 'date-time' };
/** An object with exactly these properties: an answer with one more fails the tests that check answers against it. */
const object = (properties: Record<string, JsonSchema>, optional: string[] = []): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required: Object.keys(properties).filter((name) => !optional.includes(name)),
  properties,
});

const reason: JsonSchema = { type: 'string', enum: [...FAILURE_REASONS] };
export const batchId: JsonSchema = { type: 'string', pattern: BATCH_ID_PATTERN.source };
const retryRun = object({ run: integer(1), items: integer() });

/** BatchResult, BatchStatus, BatchAccepted, BatchPage and Error (contracts/result.ts, batch-list.ts, errors.ts). */
export const SCHEMAS: Record<string, JsonSchema> = {
  BatchResult: object(
    {
      batchId,
      status: { type: 'string', enum: ['done', 'cancelled'] },
      requested: integer(1),
      succeeded: integer(),
      failed: integer(),
      elapsedMs: integer(),
      bytes: integer(),
      concurrency: integer(1),
      source: { ...string, description: '`picsum.photos`, `offline` (local placeholders), or the source URL' },
      bucket: string,
      prefix: string,
      manifestKey: string,
      manifestError: {
        ...string,
        description: 'the manifest could not be written; the images listed as stored are there',
      },
      reportError: { ...string, description: 'report.html could not be written (the manifest was)' },
      failures: {
        type: 'array',
        description: 'the first failed items by index (at most 20); the manifest lists every item',
        items: object({ index: integer(), reason, attempts: integer(), message: string }),
      },
      failureCounts: { type: 'object', propertyNames: reason, additionalProperties: integer(1) },
      latencyMs: object({ p50: integer(), p90: integer(), p99: integer(), max: integer() }),
      startedAt: time,
      finishedAt: time,
      retries: integer(),
      runs: {
        type: 'array',
        items: object({
          run: integer(),
          startedAt: time,
          elapsedMs: integer(),
          items: integer(),
          concurrency: integer(1),
        }),
      },
      catalog: { oneOf: [object({ photos: integer() }), object({ unavailable: string })] },
    },
    ['manifestError', 'reportError', 'runs', 'catalog'],
  ),
  BatchStatus: {
    description:
      "A batch's state: accepted (its execution started), running, unfinished (nothing runs it; a retry finishes it), done or cancelled (with its result), or failed as a whole",
    oneOf: [
      object(
        {
          batchId,
          status: { const: 'accepted' },
          requested: integer(1),
          acceptedAt: time,
          retry: retryRun,
        },
        ['retry'],
      ),
      object(
        {
          batchId,
          status: { const: 'running' },
          requested: integer(1),
          done: integer(),
          succeeded: integer(),
          failed: integer(),
          execution: { ...string, description: "the state machine's execution running it" },
          chunks: object({ total: integer(1), done: integer() }),
          plannedAt: time,
          retry: retryRun,
        },
        ['execution', 'chunks', 'plannedAt', 'retry'],
      ),
      object(
        {
          batchId,
          status: { const: 'unfinished' },
          requested: integer(1),
          startedAt: time,
          cause: string,
          retry: retryRun,
        },
        ['retry'],
      ),
      object({ batchId, status: { enum: ['done', 'cancelled'] }, result: ref('BatchResult') }),
      object({
        batchId,
        status: { const: 'failed' },
        requested: integer(1),
        error: {
          ...string,
          description: 'the state machine error that ended it (a step given up on, States.Timeout, an abort)',
        },
        cause: string,
        failedAt: time,
      }),
    ],
  },
  BatchAccepted: object({
    batchId,
    status: { type: 'string', enum: ['accepted', 'running'] },
    statusUrl: { ...string, description: "where to watch it, from the API's root (as `Location`)" },
  }),
  BatchPage: object(
    {
      batches: {
        type: 'array',
        items: {
          anyOf: [
            object(
              {
                batchId,
                status: { enum: ['accepted', 'running', 'unfinished', 'done', 'cancelled', 'failed'] },
                requested: integer(),
                succeeded: integer(),
                failed: integer(),
                createdAt: time,
                finishedAt: time,
                error: string,
                retries: integer(),
                unrecorded: {
                  ...integer(1),
                  description: 'a failed batch with no manifest: images its folder holds that no record vouches for',
                },
              },
              ['finishedAt', 'error', 'retries', 'unrecorded'],
            ),
            object({
              batchId,
              status: { const: 'unreadable' },
              createdAt: time,
              error: { ...string, description: 'why its record cannot be read (RECORD_INVALID)' },
            }),
          ],
        },
      },
      next: { ...batchId, description: 'the `cursor` of the next page, when there is one' },
    },
    ['next'],
  ),
  Error: object(
    {
      error: object(
        {
          code: {
            type: 'string',
            enum: Object.keys(ERROR_CODES),
            description: (Object.entries(ERROR_CODES) as [ErrorCode, string][])
              .map(([code, meaning]) => `- \`${code}\` (${HTTP_STATUS[code]}): ${meaning}`)
              .join('\n'),
          },
          message: string,
          field: { ...string, description: 'the request field, header or parameter at fault' },
        },
        ['field'],
      ),
      batchId: { ...batchId, description: 'the batch the error is about, when there is one' },
      statusUrl: string,
    },
    ['batchId', 'statusUrl'],
  ),
};
