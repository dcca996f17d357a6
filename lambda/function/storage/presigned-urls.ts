import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/**
 * A short-lived GET URL of one object of the bucket, signed with the client's own credentials:
 * whoever holds it reads that object, and nothing else, until `expiresIn` seconds after
 * `signingDate` (or until the credentials that signed it end, if sooner: a Lambda role's session).
 */
export type UrlSigner = (key: string, options: { expiresIn: number; signingDate: Date }) => Promise<string>;

/** Signs GETs of `bucket`'s objects with `client`'s credentials, region and endpoint. */
export const urlSigner =
  (client: S3Client, bucket: string): UrlSigner =>
  (key, options) =>
    getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), options);
