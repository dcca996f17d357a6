import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration files each start their own servers on ephemeral ports; two workers fit 2 cores.
    maxWorkers: 2,
  },
});
