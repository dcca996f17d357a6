import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';
import { atomicObjects } from './atomic-objects.js';
import { completeBodies } from './complete-bodies.js';
import { conditionalWrites } from './conditional-writes.js';
import { ownCallersOnly } from './own-callers-only.js';

/** s3rver's built-in account: any client must sign with these. */
export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export type EmbeddedS3 = {
  endpoint: string;
  bucket: string;
  directory: string;
  /** Requests the server is still handling (a cut upload counts until the server has settled it). */
  inFlight(): number;
  /** Stops the server; `hard` also drops open connections (a crash, for tests). */
  close(options?: { hard?: boolean }): Promise<void>;
};

/**
 * Starts an S3-compatible server (s3rver) on 127.0.0.1 with `bucket` created, keeping objects
 * under `directory` so they outlive the process. Port 0 picks a free port.
 */
export async function startEmbeddedS3(options: {
  directory: string;
  bucket: string;
  port?: number;
  /**
   * Lets unsigned requests through (the other checks stay): only for the benchmark's S3, whose
   * tutorial contender PUTs unsigned, as the tutorial did. Nothing the project runs for a user sets it.
   */
  acceptUnsigned?: boolean;
}): Promise<EmbeddedS3> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: options.bucket }],
  });
  // S3 behaviour s3rver lacks, before its router (the last middleware; Koa composes the list when
  // the server starts): a body is received whole first, then a conditional write is checked, then
  // the object is replaced whole.
  server.middleware.splice(server.middleware.length - 1, 0, atomicObjects(), conditionalWrites(), completeBodies());
  // s3rver's first middleware is koa-logger, which formats (and colours) a line for every request
  // and response even when silent sends them nowhere (chalk alone was 2% of its CPU under load).
  if ((server.middleware[0] as { name?: string } | undefined)?.name === 'logger') server.middleware.splice(0, 1);
  // Only the project's own clients, before anything else reads the request.
  let port = 0;
  server.middleware.unshift(
    ownCallersOnly(() => port, options.directory, { acceptUnsigned: options.acceptUnsigned === true }),
  );
  let inFlight = 0;
  server.middleware.unshift(async (_ctx: unknown, next: () => Promise<void>) => {
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  });
  ({ port } = await server.run());
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: options.bucket,
    directory: options.directory,
    inFlight: () => inFlight,
    async close({ hard = false } = {}) {
      if (hard) server.httpServer.closeAllConnections();
      else server.httpServer.closeIdleConnections();
      await server.close();
    },
  };
}
