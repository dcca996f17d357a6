import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type Dispatcher, request } from 'undici';

/** Runs `count` tasks with `concurrency` workers; resolves with the wall time in ms. */
export async function timed(count: number, concurrency: number, task: (index: number) => Promise<unknown>) {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return performance.now() - started;
}

/** The fetch half alone: each image's redirect and body, read and dropped, with nothing stored. */
export async function fetchOnly(
  urls: string[],
  concurrency: number,
  dispatcher: Dispatcher,
): Promise<{ ms: number; bytes: number }> {
  let bytes = 0;
  const ms = await timed(urls.length, concurrency, async (index) => {
    const redirect = await request(urls[index] ?? '', { dispatcher });
    await redirect.body.dump();
    const image = await request(String(redirect.headers.location), { dispatcher });
    for await (const chunk of image.body) bytes += (chunk as Buffer).length;
  });
  return { ms, bytes };
}

/** The store half alone: `count` objects of `bytes` each, with nothing fetched. */
export function storeOnly(
  s3: Pick<S3Client, 'send'>,
  bucket: string,
  count: number,
  bytes: number,
  concurrency: number,
): Promise<number> {
  const body = Buffer.alloc(bytes, 1);
  const run = `floor-${Date.now()}`;
  return timed(count, concurrency, (index) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${run}/${index}`, Body: body, ContentType: 'image/jpeg' })),
  );
}
