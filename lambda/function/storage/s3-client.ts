import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { RetryStrategy } from '@smithy/types';
import { backoffMs } from '../contracts/backoff.js';
import type { Config } from '../contracts/config.js';
import { type UrlSigner, urlSigner } from './presigned-urls.js';

/** The narrow slice of S3Client the core uses, so tests can pass any real client. */
export type S3Sender = Pick<S3Client, 'send'>;

/** The SDK's retry step, reduced to the one attempt. */
const SINGLE_ATTEMPT: RetryStrategy = { retry: (next, args) => next(args) };

/** The two clients of one S3: the same sockets, each with the retries its calls can take. */
export type S3Clients = {
  /**
   * Records, listings and heads: every body can be sent again, so the SDK's standard strategy
   * retries them (MAX_ATTEMPTS tries, this project's backoff), throttling and 5xx included.
   */
  s3: S3Client;
  /**
   * Images: one attempt per call. A streamed body cannot be replayed, so the item's own loop
   * (pipeline/tries.ts) tries the whole item again, download and upload, bounded and counted; a
   * copy or a buffered PUT of that item is one of its attempts too, so that no call is tried
   * MAX_ATTEMPTS times inside each of the item's MAX_ATTEMPTS tries.
   */
  transfer: S3Client;
  /** GET URLs of the bucket's objects, signed with the records client's credentials (see batch-links.ts). */
  signUrl: UrlSigner;
};

/**
 * The S3 clients for this config. For an S3-compatible endpoint they use path-style addressing and
 * send checksums only when an operation requires them: since SDK 3.729 the default wraps streamed
 * bodies in aws-chunked framing, which MinIO and R2 store as part of the object (the embedded S3 refuses it).
 * On AWS S3 the default stays on, so every upload carries a checksum that S3 verifies.
 */
export function createS3Clients(config: Config, overrides: Partial<S3ClientConfig> = {}): S3Clients {
  const agentOptions = { keepAlive: true, maxSockets: config.maxConcurrency + 8, scheduling: 'lifo' as const };
  const shared: S3ClientConfig = {
    region: config.region,
    ...(config.s3Endpoint
      ? {
          endpoint: config.s3Endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
    // No logger on purpose: with any logger but the SDK's own no-op one, every call walks its input
    // to redact it for the log, which was a third of the SDK's CPU per PutObject here.
    // The SDK's own node:http handler, with keep-alive sockets enough for every upload at once,
    // the most recently used first (fewer warm sockets and read buffers held in a long run).
    // The agents are given as options, for the handler to build when its first request goes out.
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      httpAgent: agentOptions,
      httpsAgent: agentOptions,
    }),
    ...overrides,
  };
  const s3 = new S3Client({
    ...shared,
    retryStrategy: new ConfiguredRetryStrategy(config.maxAttempts, (attempt) => backoffMs(attempt, config)),
  });
  return {
    s3,
    // A strategy that only calls on (rather than maxAttempts: 1) also skips the SDK's retry
    // tokens and its console warning for every failed streamed upload.
    transfer: new S3Client({ ...shared, retryStrategy: SINGLE_ATTEMPT }),
    signUrl: urlSigner(s3, config.bucket),
  };
}
