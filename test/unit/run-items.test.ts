import { describe, expect, it } from 'vitest';
import { tally } from '../../lambda/function/pipeline/run-items.js';
import { failed, stored } from '../support/outcomes.js';

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
