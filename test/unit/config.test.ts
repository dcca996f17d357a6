import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { devPort } from '../../lambda/local/dev-server.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      keyPrefix: 'images/',
      s3Endpoint: undefined,
      redirectHosts: ['fastly.picsum.photos'],
      maxCount: 100_000,
      syncMaxCount: 100,
      chunkSize: 2000,
      mapMaxConcurrency: 8,
      sourceMaxConcurrency: 128,
      stateMachineArn: undefined,
      defaultConcurrency: 16,
      maxConcurrency: 64,
      maxImageBytes: 20 * 1024 * 1024,
    });
    expect(config.picsumBaseUrl.href).toBe('https://picsum.photos/');
  });

  it('says BUCKET_NAME is not set when a bucket is required', () => {
    expect(() => loadConfig({}, { requireBucket: true })).toThrow('BUCKET_NAME is not set');
  });

  it('names the variable and the value it refuses', () => {
    expect(() => loadConfig({ MAX_COUNT: 'lots' })).toThrow(
      'Expected MAX_COUNT to be an integer from 1 to 100000, got "lots"',
    );
    expect(() => loadConfig({ PICSUM_BASE_URL: 'ftp://x' })).toThrow(/PICSUM_BASE_URL/);
    expect(() => loadConfig({ PICSUM_REDIRECT_HOSTS: 'a b' })).toThrow(/PICSUM_REDIRECT_HOSTS/);
  });

  it('refuses credentials in a configured URL, without repeating them', () => {
    expect(() => loadConfig({ PICSUM_BASE_URL: 'http://user:secret@127.0.0.1:9' })).toThrow(
      /Expected PICSUM_BASE_URL without credentials/,
    );
    expect(() => loadConfig({ PICSUM_BASE_URL: 'http://user:secret@127.0.0.1:9' })).not.toThrow(/secret/);
    expect(() => loadConfig({ S3_ENDPOINT: 'http://key@127.0.0.1:9' })).toThrow(/S3_ENDPOINT without credentials/);
  });

  it('keeps DEFAULT_CONCURRENCY within MAX_CONCURRENCY', () => {
    expect(() => loadConfig({ MAX_CONCURRENCY: '8', DEFAULT_CONCURRENCY: '9' })).toThrow(/DEFAULT_CONCURRENCY/);
    expect(loadConfig({ MAX_CONCURRENCY: '8' }).defaultConcurrency).toBe(8);
  });

  it('keeps chunks at least SYNC_MAX_COUNT and few enough for one map input, and the map within the source limit', () => {
    expect(() => loadConfig({ SYNC_MAX_COUNT: '300', CHUNK_SIZE: '200' })).toThrow(
      'Expected CHUNK_SIZE to be an integer from 300 to 100000, got "200"',
    );
    expect(() => loadConfig({ CHUNK_SIZE: '50' })).toThrow(/CHUNK_SIZE to be an integer from 100 /);
    expect(loadConfig({ MAX_COUNT: '500' }).chunkSize).toBe(500);
    expect(() => loadConfig({ MAP_MAX_CONCURRENCY: '20', SOURCE_MAX_CONCURRENCY: '10' })).toThrow(
      /SOURCE_MAX_CONCURRENCY to be an integer from 20 /,
    );
  });

  it('is frozen', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });
});

describe('PORT for npm run dev', () => {
  it('is checked as every other variable is: 3000 unset, 0 lets the system pick, anything else not a port refused by name', () => {
    expect(devPort({})).toBe(3000);
    expect(devPort({ PORT: '8080' })).toBe(8080);
    expect(devPort({ PORT: '0' })).toBe(0);
    for (const bad of ['abc', '3000x', '-1', '65536', '80.5']) {
      expect(() => devPort({ PORT: bad })).toThrow(
        `Expected PORT to be an integer from 0 to 65535, got ${JSON.stringify(bad)}`,
      );
    }
  });
});
