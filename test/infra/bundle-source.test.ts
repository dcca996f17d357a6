import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Every TypeScript file under `folder`. */
function sourceFiles(folder: URL): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => fileURLToPath(new URL(name, folder)));
}

// Read from the sources as written (npm run mutate runs the unit tests on instrumented copies).
describe('the bundled sources, lambda/function', () => {
  // What the bundle throws on purpose has a code: a bare Error, or a class of its own beside
  // AppError, would reach a caller as INTERNAL, and the API would pick no status for it.
  it('has nothing under lambda/function throw a bare Error, or an error class that is not an AppError', () => {
    const offences: string[] = [];
    for (const file of sourceFiles(new URL('../../lambda/function/', import.meta.url))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/throw new Error\(|extends Error\b/.test(line) && !/class AppError extends Error/.test(line))
            offences.push(`${file.slice(file.indexOf('lambda/'))}:${i + 1}`);
        });
    }
    expect(offences).toEqual([]);
  });
});
