import { type JsonSchema, JsonSchemaVersion } from 'aws-cdk-lib/aws-apigateway';
import { requestJsonSchema } from '../lambda/api-description/json-schemas.js';
import type { RequestLimits } from '../lambda/function/contracts/request.js';

/**
 * The API Gateway model for `POST /batches`: the request schema the function validates with,
 * written by zod in draft 4, the version API Gateway's models read.
 */
export function requestModelSchema(limits: RequestLimits): JsonSchema {
  return { schema: JsonSchemaVersion.DRAFT4, ...(requestJsonSchema(limits, 'draft-04') as JsonSchema) };
}
