import { E_CANCELED, Semaphore } from 'async-mutex';

/**
 * A run's upload slots: async-mutex's semaphore, whose waiters are turned away when the run stops
 * through one listener on the stop signal, not one per waiter — in a large random batch thousands
 * of copies of already-fetched photos can wait for a slot at once, and one listener per waiter
 * would grow with the batch.
 */
export function uploadSlots(limit: number, stop: AbortSignal) {
  const slots = new Semaphore(limit);
  stop.addEventListener('abort', () => slots.cancel(), { once: true });
  return {
    /** Waits for a slot, in order; rejects with the stop's reason, taking none, once the run stops. */
    async acquire(): Promise<void> {
      if (stop.aborted) throw stop.reason;
      try {
        await slots.acquire();
      } catch (error) {
        throw error === E_CANCELED ? stop.reason : error;
      }
    },
    release: (): void => slots.release(),
  };
}

export type UploadSlots = ReturnType<typeof uploadSlots>;
