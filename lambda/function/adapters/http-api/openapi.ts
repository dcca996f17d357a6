// The API as an OpenAPI 3.1 document, made from the contracts the function answers with: docs/openapi.json and the dev server's /openapi.json.
import { ERROR_CODES, type ErrorCode, FAILURE_REASONS } from '../../contracts/errors.js';
import { BATCH_ID_PATTERN, type RequestLimits } from '../../contracts/request.js';
import { type JsonSchema, requestJsonSchema } from '../../contracts/request-schema.js';
import { MAX_PAGE_SIZE } from '../../orchestration/batch-list.js';
import { IDEMPOTENCY_KEY_PATTERN } from '../../orchestration/idempotency.js';
import { HTTP_STATUS, RETRY_AFTER_S } from './responses.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const integer = (minimum = 0): JsonSchema => ({ type: 'integer', minimum });
const string: JsonSchema = { type: 'string' };
const time: JsonSchema = { type: 'string', format: 'date-time' };
/** An object with exactly these properties: an answer with one more fails the tests that check answers against it. */
const object = (properties: Record<string, JsonSchema>, optional: string[] = []): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required: Object.keys(properties).filter((name) => !optional.includes(name)),
  properties,
});

const reason: JsonSchema = { type: 'string', enum: [...FAILURE_REASONS] };
const batchId: JsonSchema = { type: 'string', pattern: BATCH_ID_PATTERN.source };
const retryRun = object({ run: integer(1), items: integer() });

const SCHEMAS: Record<string, JsonSchema> = {
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
    description: "A batch's state: accepted, running, done or cancelled (with its result), or failed as a whole",
    oneOf: [
      object(
        {
          batchId,
          status: { const: 'accepted' },
          requested: integer(1),
          acceptedAt: time,
          expiresAt: time,
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
          expiresAt: time,
          chunks: object({ total: integer(1), done: integer() }),
          plannedAt: time,
          retry: retryRun,
        },
        ['expiresAt', 'chunks', 'plannedAt', 'retry'],
      ),
      object({ batchId, status: { enum: ['done', 'cancelled'] }, result: ref('BatchResult') }),
      object({
        batchId,
        status: { const: 'failed' },
        requested: integer(1),
        error: { ...string, description: '`launch_failed`, `interrupted`, or the state machine error that ended it' },
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
        items: object(
          {
            batchId,
            status: { enum: ['accepted', 'running', 'done', 'cancelled', 'failed'] },
            requested: integer(),
            succeeded: integer(),
            failed: integer(),
            createdAt: time,
            finishedAt: time,
            error: string,
            retries: integer(),
          },
          ['finishedAt', 'error', 'retries'],
        ),
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

const header = (description: string, schema: JsonSchema = string) => ({ description, schema });
const HEADERS = {
  Location: header("The batch's status URL (the body's `statusUrl` from the API's root)"),
  RetryAfter: header('Seconds to wait before repeating the request', integer(1)),
  Replayed: header('`true`: the answer of the batch this Idempotency-Key already started', {
    type: 'string',
    const: 'true',
  }),
};
const jsonOf = (schema: JsonSchema) => ({ 'application/json': { schema } });

const RESPONSES = {
  Error: {
    description: `Refused or failed: \`{error: {code, message, field?}}\`, from the function or API Gateway alike. \`Retry-After\` where waiting helps (${Object.keys(RETRY_AFTER_S).join(', ')}; API Gateway's THROTTLED).`,
    headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } },
    content: jsonOf(ref('Error')),
  },
  Result: {
    description: 'The batch ran in this request (up to SYNC_MAX_COUNT items), or is the one the Idempotency-Key names',
    headers: { 'idempotent-replayed': { $ref: '#/components/headers/Replayed' } },
    content: jsonOf(ref('BatchResult')),
  },
  Accepted: {
    description: 'The batch runs in the background (over SYNC_MAX_COUNT items); watch it at `Location`',
    headers: {
      Location: { $ref: '#/components/headers/Location' },
      'idempotent-replayed': { $ref: '#/components/headers/Replayed' },
    },
    content: jsonOf(ref('BatchAccepted')),
  },
};
const errors = { '4XX': { $ref: '#/components/responses/Error' }, '5XX': { $ref: '#/components/responses/Error' } };
const batchIdParameter = { name: 'batchId', in: 'path', required: true, schema: batchId };

/** The OpenAPI 3.1 description of the API, with the limits `limits` sets (the deployed defaults for docs/openapi.json). */
export function openApiDocument(limits: RequestLimits): JsonSchema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'picsum-batch',
      version: '1',
      description:
        'Fetches batches of images from picsum.photos into S3. Deployed, every request is signed with SigV4 (IAM); `npm run dev` serves it on 127.0.0.1.',
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com/v1',
        variables: { apiId: { default: 'abc123' }, region: { default: 'eu-west-1' } },
      },
      { url: 'http://127.0.0.1:3000', description: '`npm run dev`' },
    ],
    security: [{ sigv4: [] }],
    paths: {
      '/batches': {
        post: {
          operationId: 'startBatch',
          summary: 'Fetch a batch of images into the bucket',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              description: 'Repeats with the same key and request answer the same batch, and fetch nothing again',
              schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN.source },
            },
          ],
          requestBody: { required: false, content: jsonOf(ref('BatchRequest')) },
          responses: {
            '200': { $ref: '#/components/responses/Result' },
            '202': { $ref: '#/components/responses/Accepted' },
            ...errors,
          },
        },
        get: {
          operationId: 'listBatches',
          summary: 'List batches, newest first, a page at a time',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE } },
            { name: 'cursor', in: 'query', description: 'the `next` of a page before', schema: batchId },
          ],
          responses: { '200': { description: 'A page of batches', content: jsonOf(ref('BatchPage')) }, ...errors },
        },
      },
      '/batches/{batchId}': {
        get: {
          operationId: 'getBatch',
          summary: "A batch's status, and its result once it has ended",
          parameters: [batchIdParameter],
          responses: { '200': { description: 'The batch', content: jsonOf(ref('BatchStatus')) }, ...errors },
        },
      },
      '/batches/{batchId}/retry': {
        post: {
          operationId: 'retryBatch',
          summary: "Run a batch's failed and unfinished items again, into the same batch",
          parameters: [batchIdParameter],
          requestBody: {
            required: false,
            content: jsonOf({ type: 'object', additionalProperties: false, description: 'no fields: `{}`' }),
          },
          responses: {
            '200': { $ref: '#/components/responses/Result' },
            '202': { $ref: '#/components/responses/Accepted' },
            ...errors,
          },
        },
      },
    },
    components: {
      schemas: { BatchRequest: requestJsonSchema(limits), ...SCHEMAS },
      responses: RESPONSES,
      headers: HEADERS,
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4, by a principal allowed execute-api:Invoke on the API',
        },
      },
    },
  };
}
