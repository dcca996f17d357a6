import { defineConfig } from 'vitest/config';

/**
 * The tests `npm run mutate` runs against each mutant: the unit tests, and the integration tests
 * of one item, one batch run, the chunked steps and the S3 writes, which need only a loopback
 * source or signing server and an in-memory S3 stand-in, so each decides in milliseconds. One
 * worker, one file after another: Stryker reads which test covers which mutant from the worker it
 * talks to.
 */
export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/integration/item-pipeline.test.ts',
      'test/integration/item-tries.test.ts',
      'test/integration/batch-run.test.ts',
      'test/integration/chunk-steps.test.ts',
      'test/integration/s3-writes.test.ts',
      'test/integration/step-functions-engine.test.ts',
    ],
    fileParallelism: false,
    maxWorkers: 1,
  },
});
