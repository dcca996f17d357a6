import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { HTTP_STATUS } from '../../lambda/function/adapters/http-api/responses.js';
import { ERROR_CODES } from '../../lambda/function/contracts/errors.js';

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
