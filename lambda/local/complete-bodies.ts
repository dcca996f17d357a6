import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error.js') as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

type S3Object = { bucket: string; key: string; content: unknown };
type Store = { putObject(object: S3Object): Promise<unknown> };
type KoaContext = { method: string; headers: Record<string, string | undefined>; query: object; store: Store };
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/** Reads a request body whole; rejects when the client went away first or sent another length. */
async function readDeclared(body: AsyncIterable<Buffer>, declared: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      received += chunk.length;
    }
  } catch {
    // The connection closed mid-body: fall through to the length check.
  }
  if (received !== declared) {
    throw new S3Error(
      'IncompleteBody',
      'You did not provide the number of bytes specified by the Content-Length HTTP header',
      { NumberBytesExpected: String(declared), NumberBytesProvided: String(received) },
    );
  }
  return chunks;
}

/**
 * S3 stores an object only once its whole body has arrived: a PutObject cut off mid-body leaves
 * no object (and an existing one untouched). s3rver 3.7 writes the body into the object's file as
 * it arrives, so a cut upload stays visible as a truncated object. The embedded server adds S3's
 * behaviour: a plain PutObject with a Content-Length is received whole, and checked against it,
 * before s3rver's store sees it. The function streams large images straight into PutObject and
 * relies on this to leave nothing behind when the source fails mid-image.
 */
export function completeBodies(): KoaMiddleware {
  return async (ctx, next) => {
    const declared = Number(ctx.headers['content-length']);
    const plainPut =
      ctx.method === 'PUT' &&
      !('uploadId' in ctx.query) &&
      !('partNumber' in ctx.query) &&
      ctx.headers['x-amz-copy-source'] === undefined;
    if (plainPut && Number.isInteger(declared)) {
      const store = ctx.store;
      ctx.store = Object.assign(Object.create(store) as Store, {
        putObject: async (object: S3Object) => {
          if (Buffer.isBuffer(object.content)) return store.putObject(object);
          const chunks = await readDeclared(object.content as AsyncIterable<Buffer>, declared);
          const whole = Object.assign(Object.create(Object.getPrototypeOf(object)) as S3Object, object, {
            content: Readable.from(chunks),
          });
          return store.putObject(whole);
        },
      });
    }
    await next();
  };
}
