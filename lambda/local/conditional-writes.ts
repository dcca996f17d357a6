import { createRequire } from 'node:module';

// s3rver's own error type, so a refused write is answered as S3 answers it (XML, status 412).
const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error.js') as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

type S3Object = { bucket: string; key: string };
type Store = {
  existsObject(bucket: string, key: string): Promise<boolean>;
  putObject(object: S3Object): Promise<unknown>;
};
type KoaContext = { method: string; headers: Record<string, string | undefined>; query: object; store: Store };
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

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
    const plainPut = ctx.method === 'PUT' && !('uploadId' in ctx.query) && !('partNumber' in ctx.query);
    if (plainPut && ctx.headers['if-none-match']?.trim() === '*') {
      const store = ctx.store;
      ctx.store = Object.assign(Object.create(store) as Store, {
        putObject: (object: S3Object) => putIfAbsent(store, object),
      });
    }
    await next();
  };
}
