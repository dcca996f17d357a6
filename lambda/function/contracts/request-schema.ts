import { PHOTO_ID_PATTERN, type RequestLimits, requestFields, SEED_PATTERN } from './request.js';

/** A JSON Schema as plain data: what OpenAPI 3.1 (2020-12) and API Gateway's models (draft 4) both read. */
export type JsonSchema = { [keyword: string]: unknown };

/**
 * `POST /batches`'s body as a JSON Schema, from the field table the function validates with: the
 * OpenAPI description and the API Gateway request model are both made from it.
 */
export function requestJsonSchema(limits: RequestLimits): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [name, spec] of Object.entries(requestFields(limits))) {
    switch (spec.kind) {
      case 'integer':
        properties[name] = { type: 'integer', minimum: spec.min, maximum: spec.max };
        break;
      case 'boolean':
        properties[name] = { type: 'boolean' };
        break;
      case 'enum':
        properties[name] = { type: 'string', enum: [...spec.values] };
        break;
      case 'seed':
        properties[name] = { type: 'string', pattern: SEED_PATTERN.source };
        break;
      case 'photoIds':
        // Ids as the catalog lists them (strings) or as numbers: each keyword applies to its own type.
        properties[name] = {
          type: 'array',
          minItems: 1,
          maxItems: spec.max,
          items: { type: ['string', 'integer'], pattern: PHOTO_ID_PATTERN.source, minimum: 0 },
        };
        break;
    }
  }
  return { title: 'BatchRequest', type: 'object', additionalProperties: false, properties };
}
