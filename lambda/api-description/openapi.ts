// The API as an OpenAPI 3.1 document, made from the schemas the function validates and answers
// with: docs/openapi.json and the dev server's /openapi.json.
import { HTTP_STATUS, RETRY_AFTER_S } from '../function/adapters/http-api/responses.js';
import { ERROR_CODES, type ErrorCode } from '../function/contracts/errors.js';
import type { RequestLimits } from '../function/contracts/request.js';
import { BATCH_ID_PATTERN } from '../function/contracts/request.js';
import { MAX_PAGE_SIZE } from '../function/orchestration/batch-list.js';
import { IDEMPOTENCY_KEY_PATTERN } from '../function/orchestration/idempotency.js';
import { answerJsonSchemas, type JsonSchema, ref, requestJsonSchema } from './json-schemas.js';

const string: JsonSchema = { type: 'string' };
const batchId: JsonSchema = { type: 'string', pattern: BATCH_ID_PATTERN.source };

const header = (description: string, schema: JsonSchema = string) => ({ description, schema });
const HEADERS = {
  Location: header("The batch's status URL (the body's `statusUrl` from the API's root)"),
  RetryAfter: header('Seconds to wait before repeating the request', { type: 'integer', minimum: 1 }),
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
        delete: {
          operationId: 'deleteBatch',
          summary: 'Delete every object of a batch that has ended; 409 while it runs. Idempotent',
          parameters: [batchIdParameter],
          responses: {
            '200': {
              description: 'What was removed (nothing, when it was gone already)',
              content: jsonOf(ref('BatchDeleted')),
            },
            ...errors,
          },
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
      schemas: { BatchRequest: requestJsonSchema(limits, 'draft-2020-12'), ...answers() },
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

/** The answers' schemas, the error codes described with the status each is answered with (the HTTP adapter's choice). */
function answers(): Record<string, JsonSchema> {
  const schemas = answerJsonSchemas();
  const error = schemas.Error as { properties: { error: { properties: { code: JsonSchema } } } };
  error.properties.error.properties.code.description = (Object.entries(ERROR_CODES) as [ErrorCode, string][])
    .map(([code, meaning]) => `- \`${code}\` (${HTTP_STATUS[code]}): ${meaning}`)
    .join('\n');
  return schemas;
}
