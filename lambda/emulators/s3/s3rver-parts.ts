import { createRequire } from 'node:module';

/** s3rver's own error type: thrown from its store, it is answered as S3 answers (XML, status). */
export const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error.js') as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

/** The slice of s3rver's object model and store that the additions below touch. */
export type S3Object = { bucket: string; key: string; content: unknown };
export type Store = {
  existsObject(bucket: string, key: string): Promise<boolean>;
  putObject(object: S3Object): Promise<unknown>;
};
export type KoaContext = { method: string; headers: Record<string, string | undefined>; query: object; store: Store };
export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/** A PutObject with a body: not an UploadPart, not a copy. */
export const isPlainPut = (ctx: KoaContext): boolean =>
  ctx.method === 'PUT' &&
  !('uploadId' in ctx.query) &&
  !('partNumber' in ctx.query) &&
  ctx.headers['x-amz-copy-source'] === undefined;

/**
 * For this request only, s3rver's store with `putObject` replaced: the additions wrap the store
 * rather than patch s3rver, so each applies to the requests it is for.
 */
export function wrapPut(ctx: KoaContext, putObject: (store: Store, object: S3Object) => Promise<unknown>): void {
  const store = ctx.store;
  ctx.store = Object.assign(Object.create(store) as Store, {
    putObject: (object: S3Object) => putObject(store, object),
  });
}
