import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * The naive baseline: what a developer writes from the tutorial. Workers over global fetch (which
 * follows the redirect), the whole body in memory, then PutObject with a default S3 client.
 */
export async function naiveBatch(options: {
  urls: string[];
  concurrency: number;
  s3: { endpoint: string; bucket: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  prefix: string;
}): Promise<{ bytes: number }> {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: options.s3.endpoint,
    forcePathStyle: true,
    credentials: options.s3.credentials,
  });
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < options.urls.length) {
      const index = next++;
      const response = await fetch(options.urls[index] ?? '');
      const body = new Uint8Array(await response.arrayBuffer());
      bytes += body.length;
      await s3.send(
        new PutObjectCommand({
          Bucket: options.s3.bucket,
          Key: `${options.prefix}${index}.jpg`,
          Body: body,
          ContentType: response.headers.get('content-type') ?? 'image/jpeg',
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  s3.destroy();
  return { bytes };
}
