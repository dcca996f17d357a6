import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { finished } from 'node:stream/promises';
import { ObjectFiles } from './object-files.js';
import { refuseForeignCallers, targetOf } from './own-callers-only.js';
import { errorDocument, S3Error } from './s3-error.js';
import { answerBucketRequest } from './s3-routes.js';
import { type Credentials, checkSignature, type SignedPayload } from './signature-check.js';

export type EmbeddedS3 = {
  endpoint: string;
  bucket: string;
  directory: string;
  /** The only keys it answers: made for this server unless given. */
  credentials: Credentials;
  /** Requests the server is still handling (a cut upload counts until the server has settled it). */
  inFlight(): number;
  /** Stops the server; `hard` also drops open connections (a crash, for tests). */
  close(options?: { hard?: boolean }): Promise<void>;
};

/** Keys no one else knows: only the process that started the server can sign for it. */
const newCredentials = (): Credentials => ({
  accessKeyId: 'picsum-batch-local',
  secretAccessKey: randomBytes(24).toString('base64url'),
});

/**
 * Starts the embedded S3 on 127.0.0.1: an S3-compatible server for exactly the S3 the project uses
 * (see s3-routes.ts), keeping `bucket`'s objects under `directory` so they outlive the process.
 * Every request must come from the project (own-callers-only.ts), be signed with `credentials`
 * (SigV4, checked), and name `bucket`. Port 0 picks a free port.
 */
export async function startEmbeddedS3(options: {
  directory: string;
  bucket: string;
  port?: number;
  credentials?: Credentials;
  /**
   * Lets unsigned requests through (the other checks stay): only for the benchmark's S3, whose
   * tutorial contender PUTs unsigned, as the tutorial did. Nothing the project runs for a user sets it.
   */
  acceptUnsigned?: boolean;
}): Promise<EmbeddedS3> {
  const credentials = options.credentials ?? newCredentials();
  const files = new ObjectFiles(options.directory, options.bucket);
  await files.open();
  let port = 0;
  let inFlight = 0;

  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const question = url.indexOf('?');
    const path = question < 0 ? url : url.slice(0, question);
    const rawQuery = question < 0 ? '' : url.slice(question + 1);
    try {
      refuseForeignCallers(req, port);
      const unsigned =
        options.acceptUnsigned && req.headers.authorization === undefined && !rawQuery.includes('X-Amz-Signature');
      const payload: SignedPayload = unsigned
        ? {}
        : await checkSignature({ method: req.method ?? '', path, query: rawQuery, headers: req.headers }, credentials);
      const { bucket, key } = targetOf(path);
      if (bucket !== options.bucket) {
        throw new S3Error('NoSuchBucket', `The embedded S3 serves only the bucket ${options.bucket}`, {
          BucketName: bucket.slice(0, 100),
        });
      }
      await answerBucketRequest(files, { req, res, key, query: new URLSearchParams(rawQuery), payload }, bucket);
    } catch (error) {
      const refusal =
        error instanceof S3Error
          ? error
          : new S3Error('InternalError', `The embedded S3 failed: ${(error as Error).message}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A refused upload's body is read to its end, so the client gets the answer, not a reset.
      if (!req.complete) {
        req.resume();
        await finished(req).catch(() => {});
      }
      const body = errorDocument(refusal, path);
      res.writeHead(refusal.status, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
        'x-amz-request-id': randomUUID(),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    }
  };

  const server = createServer((req, res) => {
    inFlight++;
    void answer(req, res).finally(() => inFlight--);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: options.bucket,
    directory: options.directory,
    credentials,
    inFlight: () => inFlight,
    async close({ hard = false } = {}) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (hard) server.closeAllConnections();
      else server.closeIdleConnections();
      await closed;
    },
  };
}
