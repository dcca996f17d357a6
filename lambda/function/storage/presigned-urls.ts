import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl, S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { HttpRequest } from '@smithy/core/protocols';

/**
 * Short-lived GET URLs of objects of the bucket, signed with the client's own credentials: whoever
 * holds one reads that object, and nothing else, until `expiresIn` seconds after `signingDate` (or
 * until the credentials that signed it end, if sooner: a Lambda role's session).
 */
export type UrlSigner = (
  keys: readonly string[],
  options: { expiresIn: number; signingDate: Date },
) => Promise<string[]>;

/** A name that is the same in a URL's path as in its key (what keys.ts names a batch's objects). */
const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * Signs GETs of `bucket`'s objects with `client`'s credentials, region and endpoint. The first key
 * goes through getSignedUrl, which resolves the object's URL and signing scope through the client's
 * whole middleware stack (and builds a new signer) on every call: a page's hundred images cost a
 * cold API request tens of milliseconds that way (aws/aws-sdk-js-v3#4421, #5421, #5723: the endpoint
 * is resolved twice per URL). The others, when they are plainly named objects
 * of the same folder, are signed by one S3RequestPresigner (the package's documented way to sign a
 * request of your own) at the first URL's address and scope: the same URL getSignedUrl would give,
 * which test/integration/presigned-urls.test.ts holds them to.
 */
export const urlSigner =
  (client: S3Client, bucket: string): UrlSigner =>
  async (keys, options) => {
    const [first, ...rest] = keys;
    if (first === undefined) return [];
    const sign = (key: string) => getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), options);
    const firstUrl = new URL(await sign(first));
    const folder = first.slice(0, first.lastIndexOf('/') + 1);
    const path = firstUrl.pathname.slice(0, firstUrl.pathname.lastIndexOf('/') + 1);
    // The scope the SDK resolved for this bucket: `{key id}/{date}/{region}/{service}/aws4_request`.
    const [, , region, service] = (firstUrl.searchParams.get('X-Amz-Credential') ?? '').split('/');
    const unsignedQuery = Object.fromEntries([...firstUrl.searchParams].filter(([name]) => !name.startsWith('X-Amz-')));
    const presigner = new S3RequestPresigner({
      ...client.config,
      signingName: service,
      region: async () => region ?? '',
    });
    const signNear = async (key: string): Promise<string> => {
      const name = key.slice(folder.length);
      if (!key.startsWith(folder) || !PLAIN_NAME.test(name)) return sign(key);
      const request = new HttpRequest({
        method: 'GET',
        protocol: firstUrl.protocol,
        hostname: firstUrl.hostname,
        ...(firstUrl.port ? { port: Number(firstUrl.port) } : {}),
        path: `${path}${name}`,
        // What the client's middleware put in the first request's query (`x-id`, a checksum mode), not its signature.
        query: unsignedQuery,
        headers: {},
      });
      const signed = await presigner.presign(request, options);
      const url = new URL(`${firstUrl.origin}${signed.path}`);
      const query = Object.entries(signed.query ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
      for (const [parameter, value] of query) url.searchParams.append(parameter, String(value));
      return url.href;
    };
    return [firstUrl.href, ...(await Promise.all(rest.map(signNear)))];
  };
