import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { Config } from '../contracts/config.js';
import type { Deps, ErrorLog } from '../pipeline/item-context.js';
import { createSourcePool } from '../source/picsum.js';
import { createS3Clients } from '../storage/s3-client.js';

/**
 * The clients every batch shares, made once per process: S3 (records and images), the source's
 * connection pool, and where unexpected errors go. The Lambda entries and the local runtime alike
 * are built on these; `close` ends them.
 */
export function createDeps(
  config: Config,
  log: ErrorLog,
  s3: Partial<S3ClientConfig> = {},
): Deps & { close(): Promise<void> } {
  const clients = createS3Clients(config, s3);
  const source = createSourcePool(config);
  return {
    ...clients,
    source,
    log,
    async close() {
      clients.s3.destroy();
      clients.transfer.destroy();
      await source.close();
    },
  };
}
