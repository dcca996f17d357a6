import { createHash } from 'node:crypto';
import { type Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Config } from '../function/contracts/config.js';
import type { S3Sender } from '../function/storage/s3-client.js';
import { StoreError, storeCall } from '../function/storage/store-error.js';

/** What S3 holds under a key now: its size and SHA-256 (hex), as a manifest records them. */
export type ObjectDigest = { bytes: number; sha256: string };

/**
 * Reads an object through, hashing it and handing each chunk on to the stream `copy` makes when
 * one is given (ended once the last byte is written); undefined when there is no such key. The body is never held whole.
 * A failed write (a full disk) or `signal` ends the read and rejects; the caller removes what `copy` wrote.
 */
export async function digestObject(
  s3: S3Sender,
  config: Pick<Config, 'bucket'>,
  key: string,
  /** `copy` makes the stream the bytes go to, once there are bytes (so no file is opened for a missing key). */
  options: { copy?: () => Writable; signal?: AbortSignal } = {},
): Promise<ObjectDigest | undefined> {
  let body: Readable;
  try {
    const response = await storeCall('S3 GetObject', () =>
      s3.send(
        new GetObjectCommand({ Bucket: config.bucket, Key: key }),
        options.signal ? { abortSignal: options.signal } : {},
      ),
    );
    body = response.Body as Readable;
  } catch (error) {
    if (error instanceof StoreError && error.s3Code === 'NoSuchKey') return undefined;
    throw error;
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const signal = options.signal ? { signal: options.signal } : {};
  if (options.copy) await pipeline(body, measure, options.copy(), signal);
  else await pipeline(body, measure, new Writable({ write: (_chunk, _encoding, done) => done() }), signal);
  return { bytes, sha256: hash.digest('hex') };
}
