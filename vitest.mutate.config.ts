import { defineConfig } from 'vitest/config';

/**
 * The tests `npm run mutate` runs against each mutant: the fast ones, with no servers to start.
 * Stryker runs only the tests that cover a mutant, so each must decide in milliseconds. One worker,
 * one file after another: Stryker reads which test covers which mutant from the worker it talks
 * to, so coverage gathered in a second worker was lost, and mutants that only another file's
 * tests kill were reported as survivors.
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    fileParallelism: false,
    maxWorkers: 1,
  },
});
