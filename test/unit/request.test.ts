import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { RequestError } from '../../lambda/function/contracts/errors.js';
import {
  parseBatchId,
  parseRequest,
  requestDefaults,
  requestSchema,
  show,
} from '../../lambda/function/contracts/request.js';

const limits = { maxCount: 1000, maxConcurrency: 64, defaultConcurrency: 16 };

function refusal(input: unknown): RequestError {
  try {
    parseRequest(input, limits);
  } catch (error) {
    if (error instanceof RequestError) return error;
    throw error;
  }
  throw new Error('expected the request to be refused');
}

describe('parseRequest', () => {
  it('fills every default for an empty body', () => {
    expect(parseRequest({}, limits)).toEqual({
      count: 15,
      width: 600,
      height: 600,
      concurrency: 16,
      grayscale: false,
      blur: undefined,
      format: 'jpg',
      seed: undefined,
      distinct: false,
      ids: undefined,
    });
  });

  it('takes height from width when only width is given', () => {
    expect(parseRequest({ width: 320 }, limits).height).toBe(320);
  });

  it('keeps every valid field as given', () => {
    const input = {
      count: 3,
      width: 10,
      height: 20,
      concurrency: 2,
      grayscale: true,
      blur: 4,
      format: 'webp',
      seed: 'a_B-9',
      distinct: true,
      ids: undefined,
    };
    expect(parseRequest(input, limits)).toEqual(input);
  });

  it('takes photo ids as strings or numbers, in order, and counts them', () => {
    expect(parseRequest({ ids: [10, '237', 10] }, limits)).toMatchObject({ ids: ['10', '237', '10'], count: 3 });
    expect(parseRequest({ ids: ['5'], count: 1, distinct: true }, limits)).toMatchObject({ ids: ['5'], count: 1 });
  });

  it.each([
    [{ ids: [] }, 'ids', /a list of 1 to 1000 picsum photo ids/],
    [{ ids: ['1a'] }, 'ids', /picsum photo ids/],
    [{ ids: [-1] }, 'ids', /picsum photo ids/],
    [{ ids: [1, 2], count: 3 }, 'count', /Expected `count` to be the number of `ids` \(2\), got 3/],
    [{ ids: [7, 8, 7], distinct: true }, 'ids', /different photos with `distinct`, got 7 twice/],
    [{ distinct: 'yes' }, 'distinct', /a boolean/],
  ])('refuses %j naming %s', (input, field, message) => {
    const error = refusal(input);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('names the field and the value when a number is out of range', () => {
    const error = refusal({ count: 1e12 });
    expect(error.field).toBe('count');
    expect(error.code).toBe('INVALID_FIELD');
    expect(error.message).toBe('Expected `count` to be an integer from 1 to 1000, got 1000000000000');
  });

  it.each([
    [{ count: 2.5 }, 'count'],
    [{ count: '5' }, 'count'],
    [{ width: 0 }, 'width'],
    [{ height: 5001 }, 'height'],
    [{ concurrency: 65 }, 'concurrency'],
    [{ grayscale: 'yes' }, 'grayscale'],
    [{ blur: 11 }, 'blur'],
    [{ format: 'png' }, 'format'],
    [{ seed: '' }, 'seed'],
    [{ seed: 'a/b' }, 'seed'],
    [{ seed: 'x'.repeat(65) }, 'seed'],
  ])('refuses %j naming %s', (input, field) => {
    expect(refusal(input).field).toBe(field);
  });

  it('refuses unknown fields instead of ignoring them', () => {
    const error = refusal({ count: 1, colour: 'red' });
    expect(error.field).toBe('colour');
    expect(error.code).toBe('UNKNOWN_FIELD');
  });

  it.each([[[]], ['text'], [42]])('refuses a body that is not an object: %j', (input) => {
    expect(refusal(input).message).toMatch(/JSON object/);
  });

  it('follows the configured limits', () => {
    expect(() => parseRequest({ count: 5 }, { ...limits, maxCount: 4 })).toThrow(/from 1 to 4, got 5/);
  });
});

describe('every integer field at its bounds', () => {
  it.each([
    ['count', 1, 1000],
    ['width', 1, 5000],
    ['height', 1, 5000],
    ['concurrency', 1, 64],
    ['blur', 1, 10],
  ])('%s accepts %i and %i, and refuses one beyond either', (field, min, max) => {
    expect(parseRequest({ [field]: min }, limits)[field as 'count']).toBe(min);
    expect(parseRequest({ [field]: max }, limits)[field as 'count']).toBe(max);
    for (const bad of [min - 1, max + 1, min + 0.5]) {
      expect(() => parseRequest({ [field]: bad }, limits)).toThrow(
        expect.objectContaining({
          field,
          message: `Expected \`${field}\` to be an integer from ${min} to ${max}, got ${bad}`,
        }),
      );
    }
  });

  it('takes a seed of 1 to 64 characters of [A-Za-z0-9_-] only', () => {
    expect(parseRequest({ seed: 'a' }, limits).seed).toBe('a');
    expect(parseRequest({ seed: 'A-z_9'.repeat(13).slice(0, 64) }, limits).seed).toHaveLength(64);
    for (const bad of ['', 'x'.repeat(65), 'a b', 'a/b', 'é']) {
      expect(() => parseRequest({ seed: bad }, limits)).toThrow(expect.objectContaining({ field: 'seed' }));
    }
  });
});

describe('request errors, exactly', () => {
  const refusal = (input: unknown) => {
    try {
      parseRequest(input, limits);
      return undefined;
    } catch (error) {
      return error as Error & { field?: string; code?: string };
    }
  };

  it('describes each kind of field and shows the value sent', () => {
    expect(refusal({ grayscale: 'yes' })?.message).toBe('Expected `grayscale` to be a boolean, got "yes"');
    expect(refusal({ format: 'png' })?.message).toBe('Expected `format` to be "jpg" or "webp", got "png"');
    expect(refusal({ seed: 'a b' })?.message).toBe(
      'Expected `seed` to be a string of 1 to 64 characters from A-Z, a-z, 0-9, _ and -, got "a b"',
    );
    expect(refusal({ count: null })?.message).toBe('Expected `count` to be an integer from 1 to 1000, got null');
    expect(refusal({ width: 'x'.repeat(100) })?.message).toBe(
      `Expected \`width\` to be an integer from 1 to 5000, got "${'x'.repeat(56)}...`,
    );
    expect(refusal({ width: 'x'.repeat(58) })?.message).toBe(
      `Expected \`width\` to be an integer from 1 to 5000, got "${'x'.repeat(58)}"`,
    );
    expect(refusal({ count: 1e21 })?.message).toBe('Expected `count` to be an integer from 1 to 1000, got 1e+21');
    expect(refusal({ count: 2000 })).toMatchObject({ code: 'INVALID_FIELD', field: 'count' });
  });

  it('names an unknown field and the ones there are', () => {
    expect(refusal({ size: 1 })).toMatchObject({
      code: 'UNKNOWN_FIELD',
      field: 'size',
      message:
        'Unknown field `size`; expected one of count, width, height, concurrency, grayscale, blur, format, seed, distinct, ids',
    });
  });

  it('takes nothing, or null, as the empty request, and refuses other non-objects', () => {
    expect(parseRequest(undefined, limits).count).toBe(15);
    expect(parseRequest(null, limits).count).toBe(15);
    expect(refusal(3)?.message).toBe('Expected the request to be a JSON object, got 3');
    expect(refusal([1])?.message).toBe('Expected the request to be a JSON object, got [1]');
  });
});

describe('show', () => {
  it('shows a value as an error message should: short, and never failing', () => {
    const deep = (depth: number, leaf: unknown, wrap: (inner: unknown) => unknown) => {
      let value = leaf;
      for (let i = 0; i < depth; i++) value = wrap(value);
      return value;
    };
    expect(show(undefined)).toBe('nothing');
    expect(show(Number.NaN)).toBe('NaN');
    expect(show(-0.5)).toBe('-0.5');
    expect(show('five')).toBe('"five"');
    expect(show('x'.repeat(70))).toBe(`"${'x'.repeat(56)}...`);
    expect(show(deep(100_000, 1, (inner) => [inner]))).toBe('a deeply nested array');
    expect(show(deep(100_000, 1, (inner) => ({ a: inner })))).toBe('a deeply nested object');
  });
});

describe('parseBatchId', () => {
  it('takes the ids this function makes: letters, digits, _ and -, 1 to 128 of them', () => {
    for (const id of ['20261125T094207Z-3f9a1c2b', 'nightly-20261125T000000Z', 'a', 'A_b-9', 'x'.repeat(128)]) {
      expect(parseBatchId(id)).toBe(id);
    }
  });

  it('names `batchId` unless told another field, and shows at most 140 characters of the value', () => {
    expect(() => parseBatchId('a/b')).toThrow(/^Expected `batchId` to be a batch id/);
    expect(() => parseBatchId(`/${'x'.repeat(300)}`)).toThrow(`got "/${'x'.repeat(139)}" (`);
  });

  it.each([
    ['a slash before it', 'x/abc'],
    ['a slash after it', 'abc/'],
    ['dots', '..'],
    ['an empty id', ''],
    ['129 characters', 'x'.repeat(129)],
    ['a space', 'a b'],
  ])('refuses %s with a 400 naming the field and the value', (_name, id) => {
    try {
      parseBatchId(id, '--retry');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RequestError);
      expect(error).toMatchObject({ field: '--retry', code: 'INVALID_REQUEST' });
      expect((error as Error).message).toBe(
        `Expected \`--retry\` to be a batch id, got ${JSON.stringify(id.slice(0, 140))} (1 to 128 of A-Z, a-z, 0-9, _ and -)`,
      );
    }
  });
});

describe('batch ids and the records beside them', () => {
  it("refuses the records' own folder as a batch id, naming why", () => {
    expect(() => parseBatchId('idempotency', '--retry')).toThrow(
      'Expected `--retry` to be a batch id, got "idempotency": that name is the Idempotency-Key records\' folder',
    );
    expect(parseBatchId('idempotency-2', '--retry')).toBe('idempotency-2');
  });
});

describe('ids, exactly', () => {
  it('names the count that disagrees with the ids, and the id repeated with distinct', () => {
    expect(refusal({ ids: ['10', '11'], count: 3 })).toMatchObject({
      field: 'count',
      code: 'INVALID_FIELD',
      message: 'Expected `count` to be the number of `ids` (2), got 3',
    });
    expect(refusal({ ids: ['10', '11', '10'], distinct: true })).toMatchObject({
      field: 'ids',
      code: 'INVALID_FIELD',
      message: 'Expected `ids` to name different photos with `distinct`, got 10 twice',
    });
  });

  it('refuses an id that only ends in digits', () => {
    expect(refusal({ ids: ['x1'] })).toMatchObject({ field: 'ids', code: 'INVALID_FIELD' });
  });
});

describe('requestSchema', () => {
  // The schema says the defaults parseRequest fills in: docs/openapi.json and the dev page's form show them.
  it('gives each field with a default that default, and the others none', () => {
    const limits = loadConfig({ MAX_CONCURRENCY: '32', DEFAULT_CONCURRENCY: '12' });
    const properties = (z.toJSONSchema(requestSchema(limits)) as { properties: Record<string, { default?: unknown }> })
      .properties;
    const defaults = Object.fromEntries(
      Object.entries(properties).flatMap(([name, schema]) => ('default' in schema ? [[name, schema.default]] : [])),
    );
    expect(defaults).toEqual({
      count: 15,
      width: 600,
      concurrency: 12,
      grayscale: false,
      format: 'jpg',
      distinct: false,
    });
    expect(defaults).toEqual(requestDefaults(limits));
    const parsed = parseRequest({}, limits);
    for (const [name, value] of Object.entries(defaults)) expect(parsed[name as keyof typeof parsed]).toBe(value);
  });
});
