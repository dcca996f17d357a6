import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_PATH, openApiFileText } from '../../infra/openapi-file.js';
import { GATEWAY_ANSWERS, gatewayAnswer } from '../../lambda/api-description/gateway-answers.js';
import { openApiDocument } from '../../lambda/api-description/openapi.js';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { startDevServer } from '../../lambda/local/dev-server.js';
import { type Harness, startHarness } from '../support/harness.js';

type Operation = { responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }> };
const document = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, { content: Record<string, { schema: unknown }> }> };
};

// An independent JSON Schema validator (2020-12, OpenAPI 3.1's dialect) holding the whole document.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(document, 'openapi.json');

/** The schema the document gives the answer of `status` to `method path`: its own, or its range's (4XX). */
function answerSchema(path: string, method: string, status: number) {
  const responses = document.paths[path]?.[method]?.responses ?? {};
  const response = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
  if (!response) throw new Error(`${method} ${path} documents no ${status}`);
  const resolved = response.$ref
    ? document.components.responses[response.$ref.replace('#/components/responses/', '')]
    : response;
  return resolved?.content?.['application/json']?.schema as { $ref: string };
}

/** Checks an answer against the document; the errors name what differs. */
function conforms(path: string, method: string, status: number, body: unknown) {
  const schema = answerSchema(path, method, status);
  const validate = ajv.getSchema(`openapi.json${schema.$ref}`);
  if (!validate) throw new Error(`No schema at ${schema.$ref}`);
  const valid = validate(body);
  return valid ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}

describe('docs/openapi.json', () => {
  it('is current: made from the contracts as `npm run openapi` writes it', () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(openApiFileText());
  });

  it('is a valid OpenAPI 3.1 document, by an independent validator', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it("takes the request bodies the function takes, and refuses those it refuses (the gateway model's source too)", () => {
    const config = loadConfig({ BUCKET_NAME: 'b' });
    const validate = ajv.getSchema('openapi.json#/components/schemas/BatchRequest');
    const bodies: unknown[] = [
      {},
      { count: 3, width: 8, format: 'webp', seed: 'nightly', grayscale: true, blur: 2 },
      { ids: ['10', 11] },
      { count: 0 },
      { count: 100_001 },
      { count: 1.5 },
      { width: '8' },
      { format: 'png' },
      { seed: 'no spaces' },
      { ids: [] },
      { ids: ['x'] },
      { ids: [-1] },
      { colour: 'red' },
      { blur: 11 },
    ];
    for (const body of bodies) {
      let accepted = true;
      try {
        parseRequest(body, config);
      } catch {
        accepted = false;
      }
      expect([body, validate?.(body)]).toEqual([body, accepted]);
    }
  });

  it('describes every answer API Gateway gives on its own', () => {
    for (const answer of GATEWAY_ANSWERS) {
      const result = gatewayAnswer(answer.type, 'from the gateway');
      expect([answer.type, conforms('/batches', 'post', result.statusCode, JSON.parse(result.body))]).toEqual([
        answer.type,
        [],
      ]);
    }
  });
});

describe('the dev server against docs/openapi.json', () => {
  let harness: Harness;
  let server: Awaited<ReturnType<typeof startDevServer>>;
  beforeAll(async () => {
    harness = await startHarness({ env: { SYNC_MAX_COUNT: '3' } });
    server = await startDevServer(harness.runtime(), { port: 0, log: { info() {}, error() {} } });
  });
  afterAll(async () => {
    await server?.close();
    await harness?.close();
  });

  async function call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: string,
    contentType = 'application/json',
  ) {
    const response = await request(`${server.url}${path}`, {
      method,
      body,
      headers: body === undefined ? {} : { 'content-type': contentType },
    });
    return { status: response.statusCode, headers: response.headers, json: (await response.body.json()) as never };
  }

  it('serves the description with its own limits at /openapi.json', async () => {
    const { status, json } = await call('GET', '/openapi.json');
    expect(status).toBe(200);
    expect(json).toEqual(JSON.parse(JSON.stringify(openApiDocument(harness.runtime().config))));
  });

  // Generated requests to every operation of the document, valid and not: each answer must be one
  // the document describes (its status, or its range's, with a body its schema takes).
  it('answers generated requests to every route within the document (fast-check)', async () => {
    const known = ((await call('POST', '/batches', JSON.stringify({ count: 1, width: 8 }))).json as { batchId: string })
      .batchId;
    const operations = Object.entries(document.paths).flatMap(([route, methods]) =>
      Object.keys(methods).map((method) => ({ route, method })),
    );
    // Valid requests kept small (a few 16-pixel images, run within the request), and anything at all.
    const body = fc.oneof(
      fc.record(
        {
          count: fc.integer({ min: 1, max: 3 }),
          width: fc.integer({ min: 1, max: 16 }),
          format: fc.constantFrom('jpg', 'webp'),
          grayscale: fc.boolean(),
          seed: fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/),
        },
        { requiredKeys: ['width'] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    );
    // Any id that stays in its path segment: an empty one, `.` or `..` would name another route
    // (`/batches/` is the list), whose answer is not this operation's.
    const batchId = fc.oneof(
      fc.constant(known),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
      fc.string({ minLength: 1, maxLength: 8 }).filter((id) => id !== '.' && id !== '..'),
    );
    const query = fc.dictionary(
      fc.constantFrom('limit', 'cursor', 'x'),
      fc.oneof(fc.string({ maxLength: 6 }), fc.nat(200).map(String)),
      {
        maxKeys: 2,
      },
    );
    const takesRequest = ajv.getSchema('openapi.json#/components/schemas/BatchRequest');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...operations),
        // No body at all too, which the document allows (the defaults).
        fc.option(body, { nil: undefined }),
        batchId,
        query,
        async ({ route, method }, sent, id, params) => {
          const path = route.replace('{batchId}', encodeURIComponent(id));
          const search = new URLSearchParams(params).toString();
          const answer =
            method === 'post'
              ? await call('POST', path, sent === undefined ? undefined : JSON.stringify(sent))
              : method === 'delete'
                ? await call('DELETE', path)
                : await call('GET', search ? `${path}?${search}` : path);
          expect([method, path, sent, answer.status, conforms(route, method, answer.status, answer.json)]).toEqual([
            method,
            path,
            sent,
            answer.status,
            [],
          ]);
          // A request the document takes (no body is one) is not refused as a request.
          if (route === '/batches' && method === 'post' && (sent === undefined || takesRequest?.(sent))) {
            expect([sent, answer.status]).not.toEqual([sent, expect.toSatisfy((s) => [400, 413, 415].includes(s))]);
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  it('answers every route as the document says: results, 202s, statuses, pages and errors', async () => {
    const seen: [string, number, string[]][] = [];
    const check = (route: string, method: string, answer: { status: number; json: unknown }) =>
      seen.push([`${method} ${route}`, answer.status, conforms(route, method, answer.status, answer.json)]);

    const ran = await call('POST', '/batches', JSON.stringify({ count: 2, width: 8 }));
    check('/batches', 'post', ran);
    const accepted = await call('POST', '/batches', JSON.stringify({ count: 6, width: 8 }));
    check('/batches', 'post', accepted);
    const { batchId } = accepted.json as { batchId: string };
    check('/batches/{batchId}', 'get', await call('GET', `/batches/${batchId}`));
    await expect
      .poll(async () => ((await call('GET', `/batches/${batchId}`)).json as { status: string }).status, {
        timeout: 20_000,
      })
      .toBe('done');
    check('/batches/{batchId}', 'get', await call('GET', `/batches/${batchId}`));
    check('/batches', 'get', await call('GET', '/batches?limit=1'));
    const ranId = (ran.json as { batchId: string }).batchId;
    check('/batches/{batchId}/retry', 'post', await call('POST', `/batches/${ranId}/retry`, '{}'));
    // Refusals: a bad field, bad JSON, the wrong media type, no such batch, a bad id and a bad page.
    check('/batches', 'post', await call('POST', '/batches', '{"count":0}'));
    check('/batches', 'post', await call('POST', '/batches', '{"count":'));
    check('/batches', 'post', await call('POST', '/batches', 'count=1', 'text/plain'));
    check('/batches/{batchId}', 'get', await call('GET', '/batches/no-such-batch'));
    check('/batches/{batchId}', 'get', await call('GET', '/batches/bad.id'));
    check('/batches', 'get', await call('GET', '/batches?limit=1000'));

    expect(seen.map(([route, status]) => `${route} ${status}`)).toEqual([
      'post /batches 200',
      'post /batches 202',
      'get /batches/{batchId} 200',
      'get /batches/{batchId} 200',
      'get /batches 200',
      'post /batches/{batchId}/retry 200',
      'post /batches 400',
      'post /batches 400',
      'post /batches 415',
      'get /batches/{batchId} 404',
      'get /batches/{batchId} 400',
      'get /batches 400',
    ]);
    expect(seen.filter(([, , errors]) => errors.length > 0)).toEqual([]);
    expect(accepted.headers.location).toBe(`/batches/${batchId}`);
    // And it would notice an answer it does not describe: a field more, a count gone, a code unknown.
    const result = ran.json as Record<string, unknown>;
    expect(conforms('/batches', 'post', 200, { ...result, extra: 1 })).toEqual([
      ' must NOT have additional properties',
    ]);
    expect(conforms('/batches', 'post', 200, { ...result, succeeded: undefined })).toEqual([
      " must have required property 'succeeded'",
    ]);
    expect(conforms('/batches', 'post', 400, { error: { code: 'OOPS', message: 'no' } })).toEqual([
      '/error/code must be equal to one of the allowed values',
    ]);
  });
});
