import { describe, expect, it } from 'vitest';
import type { ItemOutcome } from '../../lambda/function/contracts/result.js';
import { tally } from '../../lambda/function/pipeline/run-items.js';

const stored = (index: number, bytes = 10): ItemOutcome => ({
  index,
  ok: true,
  key: `k${index}`,
  bytes,
  sha256: 'x',
  attempts: 1,
  latencyMs: 1,
});
const failed = (index: number, reason: 'timeout' | 'not_image' = 'timeout'): ItemOutcome => ({
  index,
  ok: false,
  reason,
  message: `m${index}`,
  attempts: 2,
  latencyMs: 1,
});

describe('tally', () => {
  it('counts stored images, their bytes, and every failure by reason, listing the first 20', () => {
    const items = [
      stored(0, 5),
      failed(1),
      stored(2, 7),
      ...Array.from({ length: 30 }, (_, i) => failed(3 + i, 'not_image')),
    ];

    const result = tally(items);

    expect(result).toMatchObject({ succeeded: 2, failed: 31, bytes: 12 });
    expect(result.failureCounts).toEqual({ timeout: 1, not_image: 30 });
    expect(result.failures).toHaveLength(20);
    expect(result.failures[0]).toEqual({ index: 1, reason: 'timeout', attempts: 2, message: 'm1' });
    expect(result.failures.at(-1)?.index).toBe(21);
  });

  it('is all zeros for nothing', () => {
    expect(tally([])).toEqual({ succeeded: 0, failed: 0, bytes: 0, failures: [], failureCounts: {} });
  });
});
