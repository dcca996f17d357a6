import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../lambda/api-description/openapi.js';
import { HTTP_STATUS } from '../../lambda/function/adapters/http-api/responses.js';
import { LIST_QUERY } from '../../lambda/function/adapters/http-api/routes.js';
import { batchResult, readableBatch } from '../../lambda/function/contracts/answers.js';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { ERROR_CODES, FAILURE_REASONS } from '../../lambda/function/contracts/errors.js';
import { requestSchema } from '../../lambda/function/contracts/request.js';
import { EXIT_CODES, EXIT_MEANINGS, EXIT_USAGE } from '../../lambda/local/exit-codes.js';
import { USAGE } from '../../lambda/local/flags.js';

/** The reference under docs/ kept to the code it describes. */
describe('docs/', () => {
  it('lists in api.md every error code as the code defines it, each code with its status', async () => {
    const api = await readFile('docs/api.md', 'utf8');
    const doc = api.slice(api.indexOf('## Error codes'), api.indexOf('\n## ', api.indexOf('## Error codes') + 1));
    const listed = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map(([, code, status]) => [
      code,
      Number(status),
    ]);

    expect(listed).toEqual(
      Object.keys(ERROR_CODES).map((code) => [code, HTTP_STATUS[code as keyof typeof ERROR_CODES]]),
    );
  });
});

describe('docs/api.md, against the schemas the API is made of', () => {
  const api = readFileSync('docs/api.md', 'utf8');
  const section = (title: string) => {
    const start = api.indexOf(title);
    return api.slice(start, api.indexOf('\n## ', start + 1));
  };
  /** The names a text gives in code spans (`count`, `finishedAt?`) and as keys of its JSON examples. */
  const named = (text: string) =>
    new Set([...text.matchAll(/`(\w+)\??`|"(\w+)":/g)].map(([, code, key]) => code ?? key));
  const properties = (schema: { shape: Record<string, unknown> }) => Object.keys(schema.shape).sort();

  it('names every route of the OpenAPI document, and none it does not have', () => {
    const routes = section('## Routes');
    const documented = new Set(
      [...routes.matchAll(/^\| `(GET|POST|DELETE) (\/[^`?\s]*)/gm)].map(([, method, path]) => `${method} ${path}`),
    );
    const document = openApiDocument(loadConfig({ BUCKET_NAME: 'b' })) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect([...documented].sort()).toEqual(operations.sort());
    // The query parameters the document gives GET /batches are the ones the route takes.
    const list = document.paths['/batches']?.get as { parameters: { name: string; in: string }[] };
    expect(list.parameters.filter((parameter) => parameter.in === 'query').map(({ name }) => name)).toEqual([
      ...LIST_QUERY,
    ]);
  });

  it("lists the request's fields, the result's, a listed batch's and every failure reason, as the schemas have them", () => {
    const routes = section('## Routes');
    const post = /^\| `POST \/batches` with a JSON request \(([^)]*)\)/m.exec(routes)?.[1] ?? '';
    expect([...named(post)].sort()).toEqual(properties(requestSchema(loadConfig({ BUCKET_NAME: 'b' }))));

    const listed = /each `\{([^}]*)\}`/.exec(routes)?.[1] ?? '';
    expect(
      listed
        .split(', ')
        .map((field) => field.replace('?', ''))
        .sort(),
    ).toEqual(properties(readableBatch));

    const result = section('### The result');
    for (const field of properties(batchResult)) expect(named(result), `\`${field}\` in The result`).toContain(field);
    for (const reason of FAILURE_REASONS) expect(named(result), `reason \`${reason}\``).toContain(reason);
  });
});

describe('README.md', () => {
  it('states the exit codes as the one table --help prints them from', () => {
    const readme = readFileSync('README.md', 'utf8');
    const table = readme.slice(readme.indexOf('| code | when |'));
    const rows = [...table.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map(([, code, meaning]) => [Number(code), meaning]);
    expect(rows).toEqual(
      (Object.keys(EXIT_MEANINGS) as (keyof typeof EXIT_CODES)[]).map((name) => [
        EXIT_CODES[name],
        EXIT_MEANINGS[name],
      ]),
    );
    expect(USAGE).toContain(EXIT_USAGE);
  });
});
