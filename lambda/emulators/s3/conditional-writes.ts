import { isPlainPut, type KoaMiddleware, S3Error, type S3Object, type Store, wrapPut } from './s3rver-parts.js';

/** The parts of s3rver's filesystem store a version check needs (s3rver 3.7's own method). */
type VersionedStore = Store & { getMetadata(bucket: string, key: string): Promise<{ etag: string }> };

/** A write's precondition: `If-None-Match: *` (no object yet) or `If-Match: "etag"` (this version still). */
type Precondition = { absent: true } | { absent: false; etag: string };

const preconditionFailed = (condition: string) =>
  new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    Condition: condition,
  });

/** The ETag stored for a key, without quotes; undefined when there is no object. */
async function storedEtag(store: VersionedStore, object: S3Object): Promise<string | undefined> {
  if (!(await store.existsObject(object.bucket, object.key))) return undefined;
  return (await store.getMetadata(object.bucket, object.key)).etag.replaceAll('"', '');
}

/**
 * S3's conditional writes, `PutObject` with `If-None-Match: *` (GA since August 2024) or with
 * `If-Match: "etag"` (GA since November 2024): the write succeeds only if no object has the key,
 * or only if the object is still the version named, atomically. s3rver 3.7 predates both and
 * ignores the headers, so the embedded server adds them: for such a request the store's
 * `putObject` checks and writes under a per-key lock, after s3rver has authenticated the request,
 * and a failed check is answered 412 PreconditionFailed like S3 (If-Match on a missing key: 404).
 * Idempotency keys and relaunches rely on this.
 */
export function conditionalWrites(): KoaMiddleware {
  const locks = new Map<string, Promise<void>>();
  const putIf = (precondition: Precondition) => async (store: Store, object: S3Object) => {
    const id = `${object.bucket}/${object.key}`;
    const before = locks.get(id) ?? Promise.resolve();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const mine = before.then(() => held);
    locks.set(id, mine);
    await before;
    try {
      const etag = await storedEtag(store as VersionedStore, object);
      if (precondition.absent && etag !== undefined) throw preconditionFailed('If-None-Match');
      if (!precondition.absent) {
        if (etag === undefined)
          throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: object.key });
        if (etag !== precondition.etag) throw preconditionFailed('If-Match');
      }
      return await store.putObject(object);
    } finally {
      release();
      if (locks.get(id) === mine) locks.delete(id);
    }
  };
  return async (ctx, next) => {
    if (isPlainPut(ctx)) {
      const ifMatch = ctx.headers['if-match']?.trim();
      if (ctx.headers['if-none-match']?.trim() === '*') wrapPut(ctx, putIf({ absent: true }));
      else if (ifMatch) wrapPut(ctx, putIf({ absent: false, etag: ifMatch.replaceAll('"', '') }));
    }
    await next();
  };
}
