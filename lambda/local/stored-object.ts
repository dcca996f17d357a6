import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Config } from '../function/contracts/config.js';
import type { S3Sender } from '../function/storage/s3-client.js';
import { StoreError, storeCall } from '../function/storage/store-error.js';

/** What S3 holds under a key now: its size and SHA-256 (hex), as a manifest records them. */
export type ObjectDigest = { bytes: number; sha256: string };

/**
 * Reads an object through, hashing it and handing each chunk on to `copy` when one is given (ended
 * once the last byte is written); undefined when there is no such key. The body is never held whole.
 */
export async function digestObject(
  s3: S3Sender,
  config: Pick<Config, 'bucket'>,
  key: string,
  copy?: Writable,
): Promise<ObjectDigest | undefined> {
  let body: AsyncIterable<Uint8Array>;
  try {
    const response = await storeCall('S3 GetObject', () =>
      s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key })),
    );
    body = response.Body as AsyncIterable<Uint8Array>;
  } catch (error) {
    if (error instanceof StoreError && error.code === 'NoSuchKey') return undefined;
    throw error;
  }
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.length;
    if (copy && !copy.write(chunk)) await once(copy, 'drain');
  }
  if (copy) {
    copy.end();
    await once(copy, 'finish');
  }
  return { bytes, sha256: hash.digest('hex') };
}
