import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { uploadSlots } from '../../lambda/function/pipeline/upload-slots.js';

describe('uploadSlots', () => {
  it('lets `limit` holders in and the next one in when a slot is released, in order', async () => {
    const slots = uploadSlots(2, new AbortController().signal);
    const entered: number[] = [];
    await slots.acquire();
    await slots.acquire();
    const third = slots.acquire().then(() => entered.push(3));
    const fourth = slots.acquire().then(() => entered.push(4));
    // A whole turn of the event loop, not one microtask: nobody gets in without a release.
    await new Promise((resolve) => setImmediate(resolve));
    expect(entered).toEqual([]);

    slots.release();
    await third;
    expect(entered).toEqual([3]);
    slots.release();
    await fourth;
    expect(entered).toEqual([3, 4]);
  });

  it("turns every waiter away with the stop's reason, taking no slot, and refuses slots after it", async () => {
    const stop = new AbortController();
    const slots = uploadSlots(1, stop.signal);
    await slots.acquire();
    const waiting = [slots.acquire(), slots.acquire()];

    stop.abort(new Error('deadline'));

    for (const waiter of waiting) await expect(waiter).rejects.toThrow('deadline');
    slots.release();
    await expect(slots.acquire()).rejects.toThrow('deadline');
  });

  it('listens on the stop signal once, however many wait', async () => {
    const stop = new AbortController();
    const slots = uploadSlots(1, stop.signal);
    await slots.acquire();
    const waiting = Array.from({ length: 500 }, () => slots.acquire());

    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    for (const _ of waiting) slots.release();
    await Promise.all(waiting);
  });
});
