import { describe, expect, it } from 'vitest';
import { isAbortError, StoreError, storeCall, toStoreError } from '../../lambda/function/storage/store-error.js';

const serviceError = (name: string, status: number, fault = 'client') =>
  Object.assign(new Error(`${name} said no`), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe('toStoreError', () => {
  it('names what failed, S3 code and status, and keeps the cause', () => {
    const cause = serviceError('SlowDown', 503, 'server');
    const error = toStoreError(cause, 'S3 PutObject') as StoreError;

    expect(error).toBeInstanceOf(StoreError);
    expect(error.name).toBe('StoreError');
    expect(error.message).toBe('S3 PutObject failed: SlowDown (HTTP 503): SlowDown said no');
    expect(error).toMatchObject({ code: 'STORE_FAILED', s3Code: 'SlowDown', s3Status: 503, retryable: true });
    expect(error.cause).toBe(cause);
  });

  it.each([
    [400, false],
    [403, false],
    [404, false],
    [408, true],
    [429, true],
    [499, false],
    [500, true],
    [503, true],
  ])('HTTP %i from S3 is retryable: %s', (status, retryable) => {
    expect((toStoreError(serviceError('Whatever', status), 'x') as StoreError).retryable).toBe(retryable);
  });

  it.each([
    'NoSuchKey',
    'NoSuchBucket',
    'AccessDenied',
    'InvalidAccessKeyId',
    'SignatureDoesNotMatch',
    'StorageFull',
    'XMinioStorageFull',
  ])('never retries %s, whatever its status', (code) => {
    expect((toStoreError(serviceError(code, 500), 'x') as StoreError).retryable).toBe(false);
  });

  it("takes the SDK's own 'S3 aborted request' (a CopyObject answered 200 with no body) as S3's 503, retryable", () => {
    // As @aws-sdk/middleware-sdk-s3 throws it: a name and an HTTP status, no $fault.
    const aborted = Object.assign(new Error('S3 aborted request'), {
      name: 'InternalError',
      $metadata: { httpStatusCode: 503 },
    });
    expect(toStoreError(aborted, 'S3 CopyObject')).toMatchObject({
      s3Code: 'InternalError',
      s3Status: 503,
      retryable: true,
      message: 'S3 CopyObject failed: InternalError (HTTP 503): S3 aborted request',
    });
  });

  it('says S3 could not be reached for transport failures, retryably, with their code', () => {
    for (const code of ['ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT']) {
      const error = toStoreError(Object.assign(new Error('down'), { code }), 'S3 GetObject') as StoreError;
      expect(error.message).toBe(`S3 GetObject failed: S3 could not be reached: down (${code})`);
      expect(error).toMatchObject({ s3Code: code, s3Status: undefined, retryable: true });
    }
    for (const name of ['TimeoutError', 'RequestTimeout']) {
      const error = toStoreError(Object.assign(new Error('slow'), { name }), 'x') as StoreError;
      expect(error).toMatchObject({ s3Code: name, retryable: true });
    }
    const credentials = toStoreError(Object.assign(new Error('none'), { name: 'CredentialsProviderError' }), 'x');
    expect(credentials).toMatchObject({ s3Code: 'CredentialsProviderError', retryable: false });
  });

  it('leaves bugs, aborts, odd codes and non-objects as they were', () => {
    for (const error of [
      new TypeError('x is undefined'),
      Object.assign(new Error('aborted'), { name: 'AbortError' }),
      Object.assign(new Error('odd'), { code: 'econnreset' }),
      Object.assign(new Error('odd'), { code: 'XECONNRESET' }),
      Object.assign(new Error('odd'), { code: 'UND_ERR_' }),
      Object.assign(new Error('no fault'), { $metadata: { httpStatusCode: 500 } }),
      Object.assign(new Error('bad fault'), { $fault: 'other', $metadata: { httpStatusCode: 500 } }),
      Object.assign(new Error('no metadata'), { $fault: 'server' }),
      Object.assign(new Error('null metadata'), { $fault: 'client', $metadata: null }),
      // The SDK's own InternalError counts as S3's only with the status it was answered with.
      Object.assign(new Error('no status'), { name: 'InternalError', $metadata: {} }),
      'a string',
      null,
    ]) {
      expect(toStoreError(error, 'x')).toBe(error);
    }
    const already = toStoreError(serviceError('A', 500), 'x');
    expect(toStoreError(already, 'y')).toBe(already);
  });

  it('copes with errors that carry no message or name', () => {
    const bare = { $fault: 'server', $metadata: { httpStatusCode: 500 } };
    expect((toStoreError(bare, 'x') as StoreError).message).toBe('x failed: Unknown (HTTP 500): [object Object]');
    const noStatus = { name: 'Odd', message: 'm', $fault: 'server', $metadata: {} };
    expect((toStoreError(noStatus, 'x') as StoreError).message).toBe('x failed: Odd: m');
  });
});

describe('isAbortError and storeCall', () => {
  it('recognises aborts by name only', () => {
    expect(isAbortError(Object.assign(new Error('a'), { name: 'AbortError' }))).toBe(true);
    expect(isAbortError(new Error('a'))).toBe(false);
    expect(isAbortError(null)).toBe(false);
    expect(isAbortError(undefined)).toBe(false);
  });

  it('answers the call, or throws its failure as a StoreError', async () => {
    expect(await storeCall('x', async () => 7)).toBe(7);
    await expect(
      storeCall('S3 GetObject', async () => Promise.reject(serviceError('NoSuchKey', 404))),
    ).rejects.toMatchObject({
      name: 'StoreError',
      s3Code: 'NoSuchKey',
    });
  });
});

describe('toStoreError, at the edges', () => {
  it('leaves a StoreError, null and non-objects as they are', () => {
    const stored = new StoreError('S3 PutObject failed: ECONNRESET', { s3Code: 'ECONNRESET', cause: undefined });
    expect(toStoreError(stored, 'S3 GetObject')).toBe(stored);
    expect(toStoreError(null, 'S3 GetObject')).toBeNull();
    expect(toStoreError('text', 'S3 GetObject')).toBe('text');
  });

  it('leaves an abort as it is, even one the SDK marked with its fault and metadata', () => {
    const aborted = Object.assign(new Error('The operation was aborted'), {
      name: 'AbortError',
      $fault: 'client',
      $metadata: { attempts: 1 },
    });
    expect(toStoreError(aborted, 'S3 PutObject')).toBe(aborted);
  });

  it('takes only whole transport codes: node’s ERR_ codes are bugs, not network failures', () => {
    const bug = Object.assign(new TypeError('bad argument'), { code: 'ERR_INVALID_ARG_TYPE' });
    expect(toStoreError(bug, 'S3 PutObject')).toBe(bug);
    expect(toStoreError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'S3 PutObject')).toBeInstanceOf(
      StoreError,
    );
  });
});

describe('toStoreError, S3 codes and transport failures', () => {
  const s3Error = (name: string, httpStatusCode?: number) =>
    Object.assign(new Error(name), { name, $fault: 'client', $metadata: { httpStatusCode } });
  const retryable = (error: unknown) => (toStoreError(error, 'S3 PutObject') as StoreError).retryable;

  it('gives up on refusals and other 4xx, and retries timeouts, throttling, 5xx and network errors', () => {
    expect(retryable(s3Error('AccessDenied', 403))).toBe(false);
    expect(retryable(s3Error('NoSuchBucket'))).toBe(false);
    expect(retryable(s3Error('InvalidRequest', 400))).toBe(false);
    expect(retryable(s3Error('RequestTimeout', 408))).toBe(true);
    expect(retryable(s3Error('SlowDown', 503))).toBe(true);
    expect(retryable(s3Error('TooManyRequests', 429))).toBe(true);
    expect(retryable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
  });

  it('names the code and status, and leaves bugs and aborts as they were', () => {
    const refused = toStoreError(s3Error('AccessDenied', 403), 'S3 PutObject');
    expect(refused).toBeInstanceOf(StoreError);
    expect(refused).toMatchObject({ s3Code: 'AccessDenied', s3Status: 403 });
    const bug = new TypeError('Cannot read properties of undefined');
    expect(toStoreError(bug, 'S3 PutObject')).toBe(bug);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(toStoreError(abort, 'S3 PutObject')).toBe(abort);
  });
});
