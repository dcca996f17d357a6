import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { RetryStrategy } from '@smithy/types';
import type { Config } from '../contracts/config.js';
import { CallAwareHandler, signKnownPayloadHash } from './call-context.js';

/** The narrow slice of S3Client the core uses, so tests can pass any real client. */
export type S3Sender = Pick<S3Client, 'send'>;

/** The SDK's retry step, reduced to the one attempt. */
const SINGLE_ATTEMPT: RetryStrategy = { retry: (next, args) => next(args) };

/**
 * The S3 client for this config. For an S3-compatible endpoint it uses path-style addressing and
 * sends checksums only when an operation requires them: since SDK 3.729 the default wraps streamed
 * bodies in aws-chunked framing, which s3rver, MinIO and R2 store as part of the object.
 * On AWS S3 the default stays on, so every upload carries a checksum that S3 verifies.
 */
export function createS3Client(config: Config, overrides: Partial<S3ClientConfig> = {}): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: config.maxConcurrency + 8, scheduling: 'lifo' as const };
  const client = new S3Client({
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
    // the most recently used first (fewer warm sockets, fewer read buffers held: the peak memory
    // of a long run grew less). Measured against smithy's undici handler on Node 24, the Lambda
    // runtime: a cold start imports in 0.76x the time of a bundle of the S3 client alone, against
    // 1.45-1.55x with undici loaded for S3 (README, Performance).
    //
    // The agents are given as options, for the handler to build: an `import` of node:http at init
    // enumerates that module's exports, whose getters (WebSocket, MessageEvent) load Node's own
    // copy of undici on Node 24, while the handler imports node:http only for an http:// endpoint,
    // when its first request goes out (never on Lambda, where S3 is https://). Measured: 16 ms of
    // a cold import in that load; ~2 ms saved net, as undici's own load still touches a global
    // (Headers) that loads part of it.
    requestHandler: new CallAwareHandler({
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      httpAgent: agentOptions,
      httpsAgent: agentOptions,
    }),
    // One resolved middleware stack per command type, not one per call (see call-context.ts).
    cacheMiddleware: true,
    ...overrides,
  });
  client.middlewareStack.use(signKnownPayloadHash);
  shareSigners(client);
  return client;
}

/**
 * One signer per auth scheme for the client's life. The SDK builds a new signer for every request
 * from a copy of the whole client config (13 KB a PutObject: 40 MB of the 764 MB a run of 3000
 * images allocated), though every sign() call is given its region and service, and credentials are read
 * through the config's own refreshing provider at each signing. The client's own factory still
 * builds each signer; this only keeps it.
 */
function shareSigners(client: S3Client): void {
  const build = client.config.signer;
  const built = new Map<string, ReturnType<typeof build>>();
  client.config.signer = (authScheme) => {
    const key = `${authScheme?.name}/${authScheme?.signingName}/${authScheme?.signingRegion}`;
    let signer = built.get(key);
    if (signer === undefined) {
      signer = build(authScheme);
      built.set(key, signer);
      signer.catch(() => built.delete(key));
    }
    return signer;
  };
}
