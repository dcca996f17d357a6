import { type JsonSchema, JsonSchemaVersion } from 'aws-cdk-lib/aws-apigateway';
import type { RequestLimits } from '../lambda/function/contracts/request.js';
import { requestJsonSchema } from '../lambda/function/contracts/request-schema.js';

/**
 * The API Gateway model for `POST /batches`: the request schema docs/openapi.json carries, made
 * from the same field table as the function's own validation. Its keywords are draft 4's too.
 */
export function requestModelSchema(limits: RequestLimits): JsonSchema {
  return { schema: JsonSchemaVersion.DRAFT4, ...(requestJsonSchema(limits) as JsonSchema) };
}
