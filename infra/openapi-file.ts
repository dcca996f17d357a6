import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '../lambda/api-description/openapi.js';
import { loadConfig } from '../lambda/function/contracts/config.js';
import { functionLimits, readSettings } from './settings.js';

/** Where the API's description is kept, beside the rest of its reference. */
export const OPENAPI_PATH = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

/** docs/openapi.json as it should read: the document with the limits a default deployment gives its function. */
export function openApiFileText(): string {
  const limits = loadConfig(functionLimits(readSettings(() => undefined)));
  return `${JSON.stringify(openApiDocument(limits), null, 2)}\n`;
}

// `npm run openapi`: writes it again after a contract changes (npm test says when it is stale).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_PATH, openApiFileText());
  console.log(`Wrote ${OPENAPI_PATH}`);
}
