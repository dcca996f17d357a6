import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { request } from 'undici';
import {
  type OfflinePicsum,
  type OfflinePicsumOptions,
  startOfflinePicsum,
} from '../../lambda/emulators/picsum/offline-picsum.js';
import { type EmbeddedS3, startEmbeddedS3 } from '../../lambda/emulators/s3/embedded-s3.js';
import { type Config, loadConfig } from '../../lambda/function/contracts/config.js';
import type { BatchRequest } from '../../lambda/function/contracts/request.js';
import type { Deps } from '../../lambda/function/pipeline/item-context.js';
import { createSourcePool, imageUrl } from '../../lambda/function/source/picsum.js';
import { photoOfKey } from '../../lambda/function/storage/keys.js';
import { createS3Clients } from '../../lambda/function/storage/s3-client.js';
import type { LocalRuntime } from '../../lambda/local/setup.js';
import { composeLocal } from '../../lambda/local/setup.js';
import { TEST_S3_CREDENTIALS } from './s3-credentials.js';

export { TEST_S3_CREDENTIALS };

import { type ContactCounter, startContactCounter } from './loopback-only.js';

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** An image object's key (not a batch's manifest, report or records). */
export const isImageKey = (key: string): boolean => /\.(jpg|webp)$/.test(key);

/** The documents every batch writes, whatever its items did: its manifest and its report, sorted. */
export const documentsOf = (result: { manifestKey: string; prefix: string }): string[] =>
  [result.manifestKey, `${result.prefix}report.html`].sort();

/** A real s3rver and an offline picsum server on loopback, and the config and clients that use them. */
export type Harness = {
  s3server: EmbeddedS3;
  picsum: OfflinePicsum;
  /** Requests the source made for hosts off loopback (sent to a local counter instead). */
  offLoopback: ContactCounter;
  config: Config;
  /** The records client (the SDK retries its calls). */
  s3: S3Client;
  /** The images client (one attempt a call): what a batch stores its images with. */
  transfer: S3Client;
  deps: Deps;
  /** Every object key under the prefix (or under `under`, when given). */
  keys(under?: string): Promise<string[]>;
  object(key: string): Promise<{ bytes: Buffer; contentType: string | undefined; metadata: Record<string, string> }>;
  /** The harness as the local commands' runtime (the dev server takes one). */
  runtime(): LocalRuntime;
  /** What the source serves at `url`, fetched directly (following the redirect). */
  served(url: string): Promise<Buffer>;
  /** What the source serves for the photo an image key names, at the request's size and options. */
  servedFor(key: string, request: BatchRequest): Promise<Buffer>;
  close(): Promise<void>;
};

export async function startHarness(
  options: { picsum?: OfflinePicsumOptions; env?: Record<string, string> } = {},
): Promise<Harness> {
  const directory = await mkdtemp(join(tmpdir(), 'picsum-batch-s3-'));
  const s3server = await startEmbeddedS3({ directory, bucket: 'test-bucket', credentials: TEST_S3_CREDENTIALS });
  const picsum = await startOfflinePicsum(options.picsum);
  const offLoopback = await startContactCounter();
  const config = loadConfig({
    BUCKET_NAME: 'test-bucket',
    S3_ENDPOINT: s3server.endpoint,
    PICSUM_BASE_URL: picsum.baseUrl,
    PICSUM_REDIRECT_HOSTS: picsum.imageHost,
    RETRY_BASE_MS: '20',
    RETRY_MAX_MS: '100',
    SOURCE_HEADERS_TIMEOUT_MS: '2000',
    SOURCE_BODY_TIMEOUT_MS: '2000',
    ...options.env,
  });
  const clients = createS3Clients(config, { credentials: TEST_S3_CREDENTIALS });
  const { s3 } = clients;
  const source = offLoopback.guard(createSourcePool(config));
  const harness: Harness = {
    s3server,
    picsum,
    offLoopback,
    config,
    s3,
    transfer: clients.transfer,
    deps: { ...clients, source },
    async keys(under) {
      // ListObjects v1 with markers: s3rver makes v2 continuation tokens with DES, which Node's
      // OpenSSL 3 no longer has, so a truncated v2 listing fails there (InternalError).
      const keys: string[] = [];
      let marker: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsCommand({ Bucket: config.bucket, Prefix: config.keyPrefix, Marker: marker }),
        );
        for (const object of page.Contents ?? []) keys.push(object.Key ?? '');
        marker = page.IsTruncated ? keys.at(-1) : undefined;
      } while (marker);
      return keys.filter((key) => under === undefined || key.startsWith(under)).sort();
    },
    async object(key) {
      const response = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
      return {
        bytes: Buffer.from((await response.Body?.transformToByteArray()) ?? []),
        contentType: response.ContentType,
        metadata: response.Metadata ?? {},
      };
    },
    runtime: () => ({
      config,
      deps: { ...clients, source },
      ...composeLocal(config, { ...clients, source }),
      storageNote: 'test',
      sourceNote: 'test',
      dataDirectory: undefined,
      close: async () => {},
    }),
    async served(url) {
      const first = await request(url);
      await first.body.dump();
      const location = first.headers.location as string;
      const image = await request(location);
      return Buffer.from(await image.body.arrayBuffer());
    },
    servedFor(key, request) {
      return harness.served(imageUrl(config.picsumBaseUrl, request, 0, photoOfKey(key)).href);
    },
    async close() {
      s3.destroy();
      await source.close();
      await picsum.close();
      await offLoopback.close();
      await s3server.close({ hard: true }).catch(() => {});
      await rm(directory, { recursive: true, force: true });
    },
  };
  return harness;
}
