import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Semaphore } from 'async-mutex';
import { isPlainPut, type KoaMiddleware, type S3Object, type Store } from './s3rver-parts.js';

/** The parts of s3rver's filesystem store an atomic write needs (s3rver 3.7's own methods). */
type FilesystemStore = Store & {
  getResourcePath(bucket: string, key: string, resource: 'object'): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  getObject(...args: unknown[]): Promise<unknown>;
  listObjects(...args: unknown[]): Promise<unknown>;
};

/** Readers that may hold the store at once; a commit takes them all. */
const READERS = 1_000;

/**
 * S3 replaces an object whole: a reader racing an overwrite gets the old object or the new one,
 * never part of either. s3rver 3.7 rewrites the object's file in place (and its metadata file after
 * it), and answers the PUT before its write stream has finished, so a GET or a listing that races
 * an overwrite can read a short body, or metadata that is not JSON yet. The embedded server adds
 * S3's behaviour: a plain PutObject is written to a file of its own first, then committed (the file
 * renamed over the object, its metadata written) while no read is between its metadata and its open
 * file; reads hold the store only that long, so commits stay short. A manifest rewritten after a
 * retry relies on this, as S3 gives it.
 */
export function atomicObjects(): KoaMiddleware {
  const commits = new Semaphore(READERS);
  const read =
    <A extends unknown[], T>(call: (...args: A) => Promise<T>) =>
    (...args: A) =>
      commits.runExclusive(() => call(...args), 1);

  const putWhole = async (store: FilesystemStore, object: S3Object & { metadata?: unknown }) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    // Beside the object, on the same file system (so the rename is atomic), named so that
    // s3rver's listing (objects end in `._S3rver_object`) never shows it.
    const incoming = `${objectPath}.${randomUUID()}.incoming`;
    const md5 = createHash('md5');
    let size = 0;
    try {
      const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : (object.content as Readable);
      const measure = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          md5.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(content, measure, createWriteStream(incoming));
      const digest = md5.digest('hex');
      await commits.runExclusive(async () => {
        await rename(incoming, objectPath);
        await store.putMetadata(object.bucket, object.key, object.metadata, digest);
      }, READERS);
      return { size, md5: digest };
    } finally {
      await rm(incoming, { force: true });
    }
  };

  return async (ctx, next) => {
    const store = ctx.store as FilesystemStore;
    ctx.store = Object.assign(Object.create(store) as FilesystemStore, {
      getObject: read(store.getObject.bind(store)),
      listObjects: read(store.listObjects.bind(store)),
      ...(isPlainPut(ctx) ? { putObject: (object: S3Object) => putWhole(store, object) } : {}),
    });
    await next();
  };
}
