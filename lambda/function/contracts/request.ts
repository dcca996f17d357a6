// zod/mini: the same validation as zod's classic API at a twentieth of the bundle size (cold starts).
import * as z from 'zod/mini';
import type { Config } from './config.js';
import { RequestError } from './errors.js';

/** A validated batch request with every default filled in. */
export type BatchRequest = {
  count: number;
  width: number;
  height: number;
  concurrency: number;
  grayscale: boolean;
  blur: number | undefined;
  format: 'jpg' | 'webp';
  seed: string | undefined;
  /** N different photos of the catalog. */
  distinct: boolean;
  /** Exactly these photos, in this order (picsum ids). */
  ids: string[] | undefined;
};

export type RequestLimits = Pick<Config, 'maxCount' | 'maxConcurrency' | 'defaultConcurrency'>;

export const SEED_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Batch ids as this function makes them (time stamp and hex, or schedule name and time): never a
 * dot or a slash, and never the records' own folder under KEY_PREFIX (`idempotency`), so that no
 * batch lands among the Idempotency-Key records or they among its objects.
 */
export const RECORDS_FOLDER = 'idempotency';
const BATCH_ID_CHARS = '[A-Za-z0-9_-]{1,128}';
export const BATCH_ID_PATTERN = new RegExp(`^(?!${RECORDS_FOLDER}$)${BATCH_ID_CHARS}$`);

/** A batch id from outside (a path, a flag): returned as is, or a 400 naming `field`. */
export function parseBatchId(value: string, field = 'batchId'): string {
  if (!BATCH_ID_PATTERN.test(value)) {
    const why =
      value === RECORDS_FOLDER
        ? ": that name is the Idempotency-Key records' folder"
        : ' (1 to 128 of A-Z, a-z, 0-9, _ and -)';
    throw new RequestError(`Expected \`${field}\` to be a batch id, got ${JSON.stringify(value.slice(0, 140))}${why}`, {
      field,
    });
  }
  return value;
}
export const FORMATS = ['jpg', 'webp'] as const;
/** A picsum photo id: digits, as its catalog lists them (`"0"` to `"1084"` today). */
export const PHOTO_ID_PATTERN = /^\d{1,10}$/;

/** The defaults a request's fields take when left out: parseRequest fills them in, and the schema says them. */
export function requestDefaults(limits: RequestLimits) {
  return {
    count: 15,
    width: 600,
    concurrency: limits.defaultConcurrency,
    grayscale: false,
    format: 'jpg',
    distinct: false,
  } as const;
}

/** A field's description (what an error says was expected) and its default (JSON Schema leaves out none). */
const about = (description: string, fallback?: unknown) => z.meta({ description, default: fallback });

const integer = (min: number, max: number, fallback?: number) =>
  z.int().check(z.minimum(min), z.maximum(max), about(`an integer from ${min} to ${max}`, fallback));

/**
 * The request body, one schema: the function validates with it, and the OpenAPI document and the
 * API Gateway model are written from it (z.toJSONSchema). Each field's description is what an
 * error message says was expected of it.
 */
export function requestSchema(limits: RequestLimits) {
  const defaults = requestDefaults(limits);
  return z.strictObject({
    count: z.optional(integer(1, limits.maxCount, defaults.count)),
    width: z.optional(integer(1, 5000, defaults.width)),
    height: z.optional(integer(1, 5000)),
    concurrency: z.optional(integer(1, limits.maxConcurrency, defaults.concurrency)),
    grayscale: z.optional(z.boolean().check(about('a boolean', defaults.grayscale))),
    blur: z.optional(integer(1, 10)),
    format: z.optional(
      z.enum(FORMATS).check(about(FORMATS.map((value) => JSON.stringify(value)).join(' or '), defaults.format)),
    ),
    seed: z.optional(
      z.string().check(z.regex(SEED_PATTERN), z.describe('a string of 1 to 64 characters from A-Z, a-z, 0-9, _ and -')),
    ),
    distinct: z.optional(z.boolean().check(about('a boolean', defaults.distinct))),
    // Ids as the catalog lists them (strings) or as numbers.
    ids: z.optional(
      z
        .array(z.union([z.int().check(z.minimum(0)), z.string().check(z.regex(PHOTO_ID_PATTERN))]))
        .check(
          z.minLength(1),
          z.maxLength(limits.maxCount),
          z.describe(`a list of 1 to ${limits.maxCount} picsum photo ids (digits, as strings or numbers)`),
        ),
    ),
  });
}

/** What a field was expected to be, as its schema describes it. */
function expectation(schema: z.ZodMiniType | undefined): string {
  const inner = schema instanceof z.ZodMiniOptional ? schema.def.innerType : schema;
  // Stryker disable next-line StringLiteral,OptionalChaining: every field of the schema has a description
  return (inner && z.globalRegistry.get(inner)?.description) ?? 'valid';
}

/** A bad value as an error message shows it: 60 characters at most, whatever was sent. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = typeof value === 'number' ? String(value) : JSON.stringify(value);
  } catch {
    // JSON.stringify recurses: a value nested thousands deep overflows the stack.
    text = Array.isArray(value) ? 'a deeply nested array' : `a deeply nested ${typeof value}`;
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Validates a request body (already JSON-decoded) and fills in defaults:
 * count 15, width 600, height = width, concurrency DEFAULT_CONCURRENCY, grayscale false, format jpg.
 * Throws a RequestError naming the first bad field and its value; unknown fields are refused.
 */
export function parseRequest(input: unknown, limits: RequestLimits): BatchRequest {
  const schema = requestSchema(limits);
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new RequestError(`Expected the request to be a JSON object, got ${show(input)}`);
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    // A failed parse has at least one issue, and an unrecognized_keys issue at least one key: the
    // fallbacks below only satisfy the type checker.
    const issue = parsed.error.issues[0];
    // Stryker disable next-line OptionalChaining: equivalent, see above
    if (issue?.code === 'unrecognized_keys') {
      // Stryker disable next-line StringLiteral: equivalent, see above
      const field = issue.keys[0] ?? '';
      throw new RequestError(`Unknown field \`${field}\`; expected one of ${Object.keys(schema.shape).join(', ')}`, {
        field,
        code: 'UNKNOWN_FIELD',
      });
    }
    const field = String(issue?.path[0] ?? '') as keyof BatchRequest;
    const value = (input as Record<string, unknown>)[field];
    throw new RequestError(`Expected \`${field}\` to be ${expectation(schema.shape[field])}, got ${show(value)}`, {
      field,
      code: 'INVALID_FIELD',
    });
  }
  const body = parsed.data;
  const defaults = requestDefaults(limits);
  const width = body.width ?? defaults.width;
  const ids = body.ids?.map(String);
  if (ids && body.count !== undefined && body.count !== ids.length) {
    throw new RequestError(`Expected \`count\` to be the number of \`ids\` (${ids.length}), got ${body.count}`, {
      field: 'count',
      code: 'INVALID_FIELD',
    });
  }
  const repeated = ids?.find((id, i) => ids.indexOf(id) !== i);
  if (body.distinct && repeated !== undefined) {
    throw new RequestError(`Expected \`ids\` to name different photos with \`distinct\`, got ${repeated} twice`, {
      field: 'ids',
      code: 'INVALID_FIELD',
    });
  }
  return {
    count: ids?.length ?? body.count ?? defaults.count,
    width,
    height: body.height ?? width,
    concurrency: body.concurrency ?? defaults.concurrency,
    grayscale: body.grayscale ?? defaults.grayscale,
    blur: body.blur,
    format: body.format ?? defaults.format,
    seed: body.seed,
    distinct: body.distinct ?? defaults.distinct,
    ids,
  };
}
