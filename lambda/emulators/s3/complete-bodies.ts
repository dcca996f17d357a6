import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isPlainPut, type KoaMiddleware, S3Error, type S3Object, wrapPut } from './s3rver-parts.js';

/** Bodies up to this size wait in memory; larger ones in a temporary file (a local server, many uploads at once). */
const IN_MEMORY_BYTES = 8 * 1024 * 1024;

const incomplete = (declared: number, received: number) =>
  new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header', {
    NumberBytesExpected: String(declared),
    NumberBytesProvided: String(received),
  });

/**
 * Receives a request body whole, then hands it on as a stream, with `done` to free what held it.
 * Rejects with IncompleteBody when the client went away first or sent another length.
 */
async function receiveWhole(
  body: AsyncIterable<Buffer>,
  declared: number,
): Promise<{ content: Readable; done(): Promise<void> }> {
  let received = 0;
  const counted = async function* () {
    for await (const chunk of body) {
      received += chunk.length;
      yield chunk;
    }
  };
  if (declared <= IN_MEMORY_BYTES) {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of counted()) chunks.push(chunk);
    } catch {
      // The connection closed mid-body: the length check below says so.
    }
    if (received !== declared) throw incomplete(declared, received);
    return { content: Readable.from(chunks), done: async () => {} };
  }
  const directory = await mkdtemp(join(tmpdir(), 'picsum-batch-put-'));
  const done = () => rm(directory, { recursive: true, force: true });
  const file = join(directory, 'body');
  try {
    await pipeline(Readable.from(counted()), createWriteStream(file));
  } catch {
    // As above.
  }
  if (received !== declared) {
    await done();
    throw incomplete(declared, received);
  }
  return { content: createReadStream(file), done };
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
        const whole = await receiveWhole(object.content as AsyncIterable<Buffer>, declared);
        try {
          const received = Object.assign(Object.create(Object.getPrototypeOf(object)) as S3Object, object, {
            content: whole.content,
          });
          return await store.putObject(received);
        } finally {
          await whole.done();
        }
      });
    }
    await next();
  };
}
