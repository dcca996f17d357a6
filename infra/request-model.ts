import { type JsonSchema, JsonSchemaType, JsonSchemaVersion } from 'aws-cdk-lib/aws-apigateway';
import {
  PHOTO_ID_PATTERN,
  type RequestLimits,
  requestFields,
  SEED_PATTERN,
} from '../lambda/function/contracts/request.js';

/**
 * The API Gateway model for `POST /batches`, built from the same field table as the function's
 * own validation, so API Gateway refuses a bad body before the function runs.
 */
export function requestJsonSchema(limits: RequestLimits): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [name, spec] of Object.entries(requestFields(limits))) {
    switch (spec.kind) {
      case 'integer':
        properties[name] = { type: JsonSchemaType.INTEGER, minimum: spec.min, maximum: spec.max };
        break;
      case 'boolean':
        properties[name] = { type: JsonSchemaType.BOOLEAN };
        break;
      case 'enum':
        properties[name] = { type: JsonSchemaType.STRING, enum: [...spec.values] };
        break;
      case 'seed':
        properties[name] = { type: JsonSchemaType.STRING, pattern: SEED_PATTERN.source };
        break;
      case 'photoIds':
        properties[name] = {
          type: JsonSchemaType.ARRAY,
          minItems: 1,
          maxItems: spec.max,
          items: {
            type: [JsonSchemaType.STRING, JsonSchemaType.INTEGER],
            pattern: PHOTO_ID_PATTERN.source,
            minimum: 0,
          },
        };
        break;
    }
  }
  return {
    schema: JsonSchemaVersion.DRAFT4,
    title: 'BatchRequest',
    type: JsonSchemaType.OBJECT,
    additionalProperties: false,
    properties,
  };
}
