import { expect } from 'vitest';

/**
 * The same finished batch as `answer`, as the API answers it again: its result equal, and links of
 * their own (each answer signs them anew, in the second it is given).
 */
export const sameResult = (answer: object) => ({
  ...answer,
  links: { manifest: expect.any(String), report: expect.any(String), expiresAt: expect.any(String) },
});
