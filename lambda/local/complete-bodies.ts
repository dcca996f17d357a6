import { Readable } from 'node:stream';
import { isPlainPut, type KoaMiddleware, S3Error, type S3Object, wrapPut } from './s3rver-parts.js';

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
    if (isPlainPut(ctx) && Number.isInteger(declared)) {
      wrapPut(ctx, async (store, object) => {
        if (Buffer.isBuffer(object.content)) return store.putObject(object);
        const chunks = await readDeclared(object.content as AsyncIterable<Buffer>, declared);
        const whole = Object.assign(Object.create(Object.getPrototypeOf(object)) as S3Object, object, {
          content: Readable.from(chunks),
        });
        return store.putObject(whole);
      });
    }
    await next();
  };
}
