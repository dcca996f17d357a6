import { defineConfig } from 'vitest/config';

/**
 * The tests `npm run mutate` runs against each mutant: the fast ones, with no servers to start.
 * Stryker runs only the tests that cover a mutant, so each must decide in milliseconds.
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
  },
});
