// The API's shapes as JSON Schemas, written by zod from the schemas the function validates and
// answers with (contracts/request.ts, contracts/answers.ts): nothing here restates a field.
import * as z from 'zod/mini';
import { ANSWERS } from '../function/contracts/answers.js';
import { type RequestLimits, requestSchema } from '../function/contracts/request.js';

/** A JSON Schema as plain data: what OpenAPI 3.1 (2020-12) and API Gateway's models (draft 4) both read. */
export type JsonSchema = { [keyword: string]: unknown };

/** Where a schema of the document is: each answer refers to the others by these. */
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * What zod writes for its own parse and a reader need not see: a date-time's pattern (`format`
 * says it), and the largest safe integer as every count's maximum.
 */
const override: NonNullable<Parameters<typeof z.toJSONSchema>[1]>['override'] = ({ jsonSchema }) => {
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
};

/** `POST /batches`'s body: draft 2020-12 for the OpenAPI document, draft 4 for API Gateway's model. */
export function requestJsonSchema(limits: RequestLimits, target: 'draft-2020-12' | 'draft-04'): JsonSchema {
  const { $schema: _, ...schema } = z.toJSONSchema(requestSchema(limits), { target, io: 'input', override });
  return { title: 'BatchRequest', ...schema };
}

/** Every answer's schema by its name, each referring to the others (BatchStatus to BatchResult). */
export function answerJsonSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(ANSWERS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'output',
    uri: (id) => ref(id).$ref,
    override,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([name, { $schema: _, $id: __, ...schema }]) => [name, schema as JsonSchema]),
  );
}
