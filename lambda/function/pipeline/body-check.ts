import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { SourceError } from '../source/source-error.js';

/** How each format's files begin: JPEG's start-of-image marker, WebP's RIFF container. */
const MAGIC: Record<'jpg' | 'webp', (head: Buffer) => boolean> = {
  jpg: (head) => head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff,
  webp: (head) => head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP',
};
const MAGIC_BYTES = 12;

/**
 * Counts and hashes a body as it arrives; throws when it runs past the declared length or the size
 * limit, when its first bytes are not those of the format asked for, and (at `finish`) when it
 * ended short of the declared length or empty.
 */
export class BodyCheck {
  bytes = 0;
  sha256 = '';
  /** Hashing a body chunk by chunk costs more than one pass over the whole; only streams need it. */
  private readonly hash: Hash | undefined;

  /** The first bytes, until there are enough to check the format by. */
  private head: Buffer | undefined = Buffer.alloc(0);

  constructor(
    private readonly expected: number | undefined,
    private readonly limit: number,
    private readonly format: 'jpg' | 'webp',
    options: { hash: boolean },
  ) {
    this.hash = options.hash ? createHash('sha256') : undefined;
  }

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      const which =
        this.expected === undefined ? 'MAX_UNSIZED_IMAGE_BYTES, for a body without Content-Length' : 'MAX_IMAGE_BYTES';
      throw new SourceError('too_large', `Image is over ${which} (${this.limit})`);
    }
    if (this.bytes > (this.expected ?? Number.POSITIVE_INFINITY)) {
      throw new SourceError('source_network', `Body ran past Content-Length ${this.expected}`, { retryable: true });
    }
    if (this.head) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, MAGIC_BYTES)]).subarray(0, MAGIC_BYTES);
      if (this.head.length >= MAGIC_BYTES) this.checkMagic();
    }
    this.hash?.update(chunk);
  }

  finish(): void {
    if (this.expected !== undefined && this.bytes !== this.expected) {
      const message = `Body cut short at ${this.bytes} of ${this.expected} bytes`;
      throw new SourceError('source_network', message, { retryable: true });
    }
    if (this.bytes === 0) throw new SourceError('not_image', 'Empty body');
    if (this.head) this.checkMagic();
    if (this.hash) this.sha256 = this.hash.digest('hex');
  }

  private checkMagic(): void {
    const head = this.head ?? Buffer.alloc(0);
    this.head = undefined;
    if (!MAGIC[this.format](head)) {
      throw new SourceError(
        'not_image',
        `Body is not a ${this.format === 'jpg' ? 'JPEG' : 'WebP'} image (first bytes ${head.toString('hex')})`,
      );
    }
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

  constructor(expected: number | undefined, limit: number, format: 'jpg' | 'webp') {
    super();
    this.check = new BodyCheck(expected, limit, format, { hash: true });
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
