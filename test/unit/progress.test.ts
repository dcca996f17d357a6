import { describe, expect, it } from 'vitest';
import { progressLine, progressReporter } from '../../lambda/local/progress.js';

describe('progressLine', () => {
  it('gives the rate so far and the time left at that rate', () => {
    expect(progressLine({ done: 100, succeeded: 98, failed: 2, total: 400 }, 10_000)).toBe(
      '100/400 done  stored 98  failed 2  10.0/s  ETA 30 s',
    );
    expect(progressLine({ done: 10, succeeded: 10, failed: 0, total: 4010 }, 10_000)).toBe(
      '10/4010 done  stored 10  failed 0  1.0/s  ETA 66 min 40 s',
    );
  });

  it('has no ETA once every item is done, nor before any is', () => {
    expect(progressLine({ done: 4, succeeded: 4, failed: 0, total: 4 }, 2_000)).toBe(
      '4/4 done  stored 4  failed 0  2.0/s',
    );
    expect(progressLine({ done: 0, succeeded: 0, failed: 0, total: 4 }, 0)).toBe(
      '0/4 done  stored 0  failed 0  0.0/s  ETA --',
    );
  });

  it('counts cancelled items apart after a cancel, never as done', () => {
    expect(progressLine({ done: 400, succeeded: 118, failed: 282, cancelled: 280, total: 400 }, 5_000)).toBe(
      '120/400 done  stored 118  failed 2  cancelled 280',
    );
  });
});

describe('progressReporter', () => {
  it('draws the bar over the items finished, not the cancelled ones', () => {
    const written: string[] = [];
    let now = 0;
    const reporter = progressReporter(
      'tty',
      (text) => written.push(text),
      () => now,
    );
    now = 1_000;
    reporter.update({ done: 400, succeeded: 100, failed: 300, cancelled: 300, total: 400 });

    expect(written[0]).toBe(
      `\r[########......................] 100/400 done  stored 100  failed 0  cancelled 300\x1b[K`,
    );
  });
});
