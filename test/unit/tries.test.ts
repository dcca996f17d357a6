import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { attemptSignal } from '../../lambda/function/pipeline/tries.js';

describe('attemptSignal', () => {
  it("lets go of the run's stop signal once the attempt is done: a batch of any size leaves nothing on it", () => {
    const stop = new AbortController();
    const attempts = Array.from({ length: 3 }, () => attemptSignal(stop.signal, 60_000));
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(3);

    for (const attempt of attempts) attempt.done();

    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it("aborts with the run's stop, and says a timeout only when its own time ran out", async () => {
    const stop = new AbortController();
    const stopped = attemptSignal(stop.signal, 60_000);
    stop.abort();
    expect(stopped.signal.aborted).toBe(true);
    expect(stopped.timedOut()).toBe(false);
    stopped.done();

    const slow = attemptSignal(new AbortController().signal, 1);
    await new Promise((resolve) => slow.signal.addEventListener('abort', resolve));
    expect(slow.timedOut()).toBe(true);
    slow.done();
  });
});
