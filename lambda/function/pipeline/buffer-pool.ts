/** A buffer on loan: `bytes` is the part to use, `give back` returns the whole buffer to the pool. */
export type Lease = { bytes: Buffer; giveBack(): void };

/** Sizes grow in steps, so that images of nearly the same size share buffers. */
const STEP = 64 * 1024;

/**
 * Reuses body buffers across the items of a batch. At most `keep` buffers are kept: a batch holds
 * at most `concurrency` bodies at once, so it allocates about that many and then stops making
 * garbage — memory stays flat however many images the batch has.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly keep: number) {}

  take(size: number): Lease {
    const index = this.free.findIndex((buffer) => buffer.length >= size);
    const buffer =
      index >= 0 ? (this.free.splice(index, 1)[0] as Buffer) : Buffer.allocUnsafeSlow(Math.ceil(size / STEP) * STEP);
    let returned = false;
    return {
      bytes: buffer.subarray(0, size),
      giveBack: () => {
        if (returned) return;
        returned = true;
        if (this.free.length < this.keep) this.free.push(buffer);
      },
    };
  }
}
