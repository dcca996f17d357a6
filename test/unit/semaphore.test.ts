import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../lambda/function/pipeline/semaphore.js';

describe('Semaphore', () => {
  it('lets `limit` holders in and the next one in when a slot is released, in order', async () => {
    const semaphore = new Semaphore(2);
    const entered: number[] = [];
    await semaphore.acquire();
    await semaphore.acquire();
    const third = semaphore.acquire().then(() => entered.push(3));
    const fourth = semaphore.acquire().then(() => entered.push(4));
    // A whole turn of the event loop, not one microtask: nobody gets in without a release.
    await new Promise((resolve) => setImmediate(resolve));
    expect(entered).toEqual([]);

    semaphore.release();
    await third;
    expect(entered).toEqual([3]);
    semaphore.release();
    await fourth;
    expect(entered).toEqual([3, 4]);
  });

  it('stops waiting when the signal aborts, without taking a slot', async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    const abort = new AbortController();
    const waiting = semaphore.acquire(abort.signal);

    abort.abort(new Error('deadline'));

    await expect(waiting).rejects.toThrow('deadline');
    semaphore.release();
    await expect(semaphore.acquire()).resolves.toBeUndefined();
  });
});
