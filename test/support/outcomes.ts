import type { ItemOutcome } from '../../lambda/function/contracts/result.js';

/** A stored item's outcome, as a run records it: key `k{index}`, one attempt. */
export const stored = (index: number, bytes = 10): ItemOutcome => ({
  index,
  ok: true,
  key: `k${index}`,
  bytes,
  sha256: 'x',
  attempts: 1,
  latencyMs: 1,
});

/** A failed item's outcome, after two attempts. */
export const failed = (index: number, reason: 'timeout' | 'not_image' = 'timeout'): ItemOutcome => ({
  index,
  ok: false,
  reason,
  message: `m${index}`,
  attempts: 2,
  latencyMs: 1,
});
