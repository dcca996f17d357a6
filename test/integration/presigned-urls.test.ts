import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { urlSigner } from '../../lambda/function/storage/presigned-urls.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const options = { expiresIn: 900, signingDate: new Date('2026-12-06T12:00:00Z') };

// The signer signs all but the first URL with one S3RequestPresigner, for speed: each must be the
// very URL getSignedUrl gives, on AWS (virtual-hosted, its own endpoint rules) and on an
// S3-compatible endpoint (path-style). This fails if the package changes how it signs underneath.
describe('urlSigner', () => {
  it.each([
    ['AWS S3, virtual-hosted', new S3Client({ region: 'eu-west-1', credentials })],
    ['AWS S3 in another partition', new S3Client({ region: 'cn-north-1', credentials })],
    [
      'an S3-compatible endpoint, path-style',
      new S3Client({ region: 'us-east-1', credentials, endpoint: 'http://127.0.0.1:9000', forcePathStyle: true }),
    ],
  ])('signs every key as getSignedUrl does: %s', async (_where, client) => {
    const keys = [
      'images/20261206T120000Z-0a1b2c3d/manifest.json',
      'images/20261206T120000Z-0a1b2c3d/linked-report.html',
      'images/20261206T120000Z-0a1b2c3d/007-1084.jpg',
      // Not plainly named, or in another folder: signed by getSignedUrl itself.
      'images/20261206T120000Z-0a1b2c3d/a name+with spaces.jpg',
      'other prefix/ünïcode/1-2.webp',
    ];
    const expected = await Promise.all(
      keys.map((key) => getSignedUrl(client, new GetObjectCommand({ Bucket: 'picsum-batch', Key: key }), options)),
    );

    expect(await urlSigner(client, 'picsum-batch')(keys, options)).toEqual(expected);
  });
});
