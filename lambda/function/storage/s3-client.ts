import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { RetryStrategy } from '@smithy/types';
import type { Config } from '../contracts/config.js';

/** The narrow slice of S3Client the core uses, so tests can pass any real client. */
export type S3Sender = Pick<S3Client, 'send'>;

/** The SDK's retry step, reduced to the one attempt. */
const SINGLE_ATTEMPT: RetryStrategy = { retry: (next, args) => next(args) };

/**
 * The S3 client for this config. For an S3-compatible endpoint it uses path-style addressing and
 * sends checksums only when an operation requires them: since SDK 3.729 the default wraps streamed
 * bodies in aws-chunked framing, which MinIO and R2 store as part of the object (the embedded S3 refuses it).
 * On AWS S3 the default stays on, so every upload carries a checksum that S3 verifies.
 */
export function createS3Client(config: Config, overrides: Partial<S3ClientConfig> = {}): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: config.maxConcurrency + 8, scheduling: 'lifo' as const };
  return new S3Client({
    region: config.region,
    ...(config.s3Endpoint
      ? {
          endpoint: config.s3Endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
    // One attempt per call: a streamed body cannot be replayed, so retries happen a level up,
    // where the whole item (download and upload) is tried again, bounded and counted. A strategy
    // that only calls on (rather than maxAttempts: 1) also skips the SDK's retry tokens and its
    // console warning for every failed streamed upload.
    retryStrategy: SINGLE_ATTEMPT,
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
  });
}
