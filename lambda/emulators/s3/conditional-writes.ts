import { isPlainPut, type KoaMiddleware, S3Error, type S3Object, type Store, wrapPut } from './s3rver-parts.js';

/**
 * S3's conditional write, `PutObject` with `If-None-Match: *` (GA since August 2024): the write
 * succeeds only if no object has the key, atomically. s3rver 3.7 predates it and ignores the
 * header, so the embedded server adds it: for such a request the store's `putObject` checks and
 * writes under a per-key lock, after s3rver has authenticated the request, and a taken key is
 * answered 412 PreconditionFailed like S3. Idempotency keys rely on this.
 */
export function conditionalWrites(): KoaMiddleware {
  const locks = new Map<string, Promise<void>>();
  const putIfAbsent = async (store: Store, object: S3Object) => {
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
      if (await store.existsObject(object.bucket, object.key)) {
        throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
          Condition: 'If-None-Match',
        });
      }
      return await store.putObject(object);
    } finally {
      release();
      if (locks.get(id) === mine) locks.delete(id);
    }
  };
  return async (ctx, next) => {
    if (isPlainPut(ctx) && ctx.headers['if-none-match']?.trim() === '*') wrapPut(ctx, putIfAbsent);
    await next();
  };
}
