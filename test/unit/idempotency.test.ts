import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { BatchRecords } from '../../lambda/function/orchestration/batch-records.js';
import {
  claimIdempotencyKey,
  readIdempotencyKey,
  requestHash,
} from '../../lambda/function/orchestration/idempotency.js';
import { memoryS3 } from '../support/memory-s3.js';

const config = loadConfig({ BUCKET_NAME: 'b', KEY_PREFIX: 'p/' });
const deps = () => ({ s3: memoryS3(), source: { dispatcher: () => ({}) as never, close: async () => {} } });

describe('requestHash: an Idempotency-Key binds the whole request', () => {
  const base = parseRequest({ count: 5, seed: 'abc', blur: 2 }, config);
  it.each([
    ['count', { count: 6 }],
    ['width', { width: 601 }],
    ['height', { height: 599 }],
    ['concurrency', { concurrency: 3 }],
    ['grayscale', { grayscale: true }],
    ['blur', { blur: 3 }],
    ['format', { format: 'webp' as const }],
    ['seed', { seed: 'abd' }],
  ])('differs when only %s differs', (_field, change) => {
    expect(requestHash({ ...base, ...change })).not.toBe(requestHash(base));
  });

  it('is the same for the same request after defaults, and a SHA-256', () => {
    expect(requestHash(parseRequest({}, config))).toBe(requestHash(parseRequest({ count: 15, width: 600 }, config)));
    expect(requestHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('readIdempotencyKey', () => {
  it('takes 1 to 255 visible ASCII characters and nothing else', () => {
    expect(readIdempotencyKey(undefined)).toBeUndefined();
    expect(readIdempotencyKey('a')).toBe('a');
    expect(readIdempotencyKey('!~')).toBe('!~');
    expect(readIdempotencyKey('k'.repeat(255))).toBe('k'.repeat(255));
    for (const bad of ['', 'k'.repeat(256), 'a b', 'é', '\t']) {
      expect(() => readIdempotencyKey(bad)).toThrow(
        expect.objectContaining({ field: 'Idempotency-Key', code: 'INVALID_HEADER' }),
      );
    }
  });
});

describe('claimIdempotencyKey', () => {
  it('binds a key to the first batch; the same request gets it back, another is refused with 422', async () => {
    const options = { config, deps: deps() };
    const request = parseRequest({ count: 3 }, config);

    const first = await claimIdempotencyKey('k-1', request, 'batch-a', new BatchRecords(options));
    const again = await claimIdempotencyKey('k-1', request, 'batch-b', new BatchRecords(options));

    expect(first).toMatchObject({ batchId: 'batch-a', fresh: true });
    expect(again).toEqual({ batchId: 'batch-a', fresh: false, claimedAt: first.claimedAt });
    await expect(
      claimIdempotencyKey('k-1', { ...request, count: 4 }, 'batch-c', new BatchRecords(options)),
    ).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      field: 'Idempotency-Key',
      message: 'This Idempotency-Key was used for batch batch-a with a different request; use a new key',
    });
    expect((await claimIdempotencyKey('k-2', request, 'batch-d', new BatchRecords(options))).fresh).toBe(true);
  });

  it('keeps its record under the prefix, by the key hash, with the request hash', async () => {
    const options = { config, deps: deps() };
    await claimIdempotencyKey('k-1', parseRequest({}, config), 'batch-a', new BatchRecords(options));

    const [[key, text]] = [...options.deps.s3.objects.entries()] as [[string, string]];
    expect(key).toMatch(/^p\/idempotency\/[0-9a-f]{64}\.json$/);
    expect(key).not.toContain('k-1');
    expect(JSON.parse(text)).toMatchObject({
      version: 1,
      batchId: 'batch-a',
      requestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });
});

describe('claimIdempotencyKey, at the edges', () => {
  it('asks the client to retry when the key was taken and is gone again (an expiring record)', async () => {
    const s3 = memoryS3();
    const send = s3.send;
    // The conditional write loses, as to a racing request, but the record cannot be read back.
    s3.send = (async (command: unknown) => {
      if (command instanceof PutObjectCommand) {
        throw Object.assign(new Error('PreconditionFailed'), {
          name: 'PreconditionFailed',
          $fault: 'client',
          $metadata: { httpStatusCode: 412 },
        });
      }
      return send(command);
    }) as typeof s3.send;

    await expect(
      claimIdempotencyKey('k', parseRequest({}, config), 'b', new BatchRecords({ config, deps: { ...deps(), s3 } })),
    ).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_IN_USE',
      field: 'Idempotency-Key',
      message: 'This Idempotency-Key is being settled; retry the request',
    });
  });

  it('reads no header as no key', () => {
    expect(readIdempotencyKey(undefined)).toBeUndefined();
    expect(readIdempotencyKey('k-1')).toBe('k-1');
  });

  it('names a malformed key and shows the start of it', () => {
    expect(() => readIdempotencyKey(`bad key ${'x'.repeat(100)}`)).toThrow(
      expect.objectContaining({
        code: 'INVALID_HEADER',
        message: `Expected \`Idempotency-Key\` to be 1 to 255 visible ASCII characters, got "bad key ${'x'.repeat(52)}"`,
      }),
    );
  });
});
