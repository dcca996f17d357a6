import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../lambda/function/contracts/backoff.js';

describe('backoffMs', () => {
  const retry = { retryBaseMs: 100, retryMaxMs: 1000, maxAttempts: 5 };

  it('doubles per attempt up to the cap, with jitter in the upper half', () => {
    expect(backoffMs(1, retry, () => 0)).toBe(50);
    expect(backoffMs(1, retry, () => 1)).toBe(100);
    expect(backoffMs(3, retry, () => 1)).toBe(400);
    expect(backoffMs(10, retry, () => 1)).toBe(1000);
    expect(backoffMs(10, retry, () => 0)).toBe(500);
  });
});
