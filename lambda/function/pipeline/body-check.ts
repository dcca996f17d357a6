import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { SourceError } from '../source/source-error.js';

/**
 * Counts and hashes a body as it arrives; throws when it runs past the declared length or the size
 * limit, and (at `finish`) when it ended short of the declared length.
 */
export class BodyCheck {
  bytes = 0;
  sha256 = '';
  /** Hashing a body chunk by chunk costs more than one pass over the whole; only streams need it. */
  private readonly hash: Hash | undefined;

  constructor(
    private readonly expected: number | undefined,
    private readonly limit: number,
    options: { hash: boolean },
  ) {
    this.hash = options.hash ? createHash('sha256') : undefined;
  }

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) throw new SourceError('too_large', `Image is over MAX_IMAGE_BYTES (${this.limit})`);
    if (this.expected !== undefined && this.bytes > this.expected) {
      throw new SourceError('source_network', `Body ran past Content-Length ${this.expected}`, { retryable: true });
    }
    this.hash?.update(chunk);
  }

  finish(): void {
    if (this.expected !== undefined && this.bytes !== this.expected) {
      const message = `Body cut short at ${this.bytes} of ${this.expected} bytes`;
      throw new SourceError('source_network', message, { retryable: true });
    }
    if (this.hash) this.sha256 = this.hash.digest('hex');
  }
}

/**
 * BodyCheck as a stream stage, for bodies that flow straight into an upload. It holds back the
 * latest chunk until the next one arrives, and the last until the source has ended with exactly
 * the declared length: the upload's final byte is never sent for a body that turns out cut, too
 * long or too large, so the PUT stays incomplete and S3 stores nothing.
 */
export class ByteGuard extends Transform {
  readonly check: BodyCheck;
  private held: Buffer | undefined;

  constructor(expected: number | undefined, limit: number) {
    super();
    this.check = new BodyCheck(expected, limit, { hash: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.check.add(chunk);
      const previous = this.held;
      this.held = chunk;
      callback(null, previous);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.check.finish();
      callback(null, this.held);
    } catch (error) {
      callback(error as Error);
    }
  }
}
