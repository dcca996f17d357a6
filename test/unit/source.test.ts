import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import {
  checkRedirect,
  imageUrl,
  parseRetryAfter,
  quoted,
  toSourceError,
} from '../../lambda/function/source/picsum.js';
import { SourceError } from '../../lambda/function/source/source-error.js';

const config = loadConfig({});
const request = (input: object) => parseRequest(input, config);
const base = new URL('https://picsum.photos');

describe('imageUrl', () => {
  it('asks for a photo chosen from the catalog by its id, seeded or not', () => {
    expect(imageUrl(base, request({ width: 20, height: 30 }), 4, '10').href).toBe('https://picsum.photos/id/10/20/30');
    expect(imageUrl(base, request({ seed: 'cats' }), 4, '10').href).toBe('https://picsum.photos/id/10/600/600');
  });

  it('asks for a random image of the size', () => {
    expect(imageUrl(base, request({ width: 200, height: 300 }), 4).href).toBe('https://picsum.photos/200/300');
  });

  it('makes seeded batches repeatable per index', () => {
    expect(imageUrl(base, request({ seed: 'cats' }), 7).href).toBe('https://picsum.photos/seed/cats-7/600/600');
  });

  it('adds the format and the effects', () => {
    const url = imageUrl(base, request({ format: 'webp', grayscale: true, blur: 2, width: 10, height: 20 }), 0);
    expect(url.href).toBe('https://picsum.photos/10/20.webp?grayscale&blur=2');
  });

  it('keeps a base path', () => {
    expect(imageUrl(new URL('http://127.0.0.1:9/picsum/'), request({ width: 5 }), 0).href).toBe(
      'http://127.0.0.1:9/picsum/5/5',
    );
  });

  it('drops every trailing slash of a base path', () => {
    expect(imageUrl(new URL('http://127.0.0.1:9/picsum//'), request({ width: 5 }), 0).href).toBe(
      'http://127.0.0.1:9/picsum/5/5',
    );
  });
});

describe('checkRedirect', () => {
  const refuses = (from: string, to: string) => {
    try {
      checkRedirect(new URL(from), new URL(to), config);
    } catch (error) {
      return error instanceof SourceError && error.reason === 'redirect_refused';
    }
    return false;
  };

  it('allows picsum to send us to its CDN', () => {
    expect(refuses('https://picsum.photos/200', 'https://fastly.picsum.photos/id/1/200/200.jpg')).toBe(false);
    expect(refuses('https://picsum.photos/200', 'https://picsum.photos/id/1/200/200')).toBe(false);
  });

  it.each([
    ['the metadata service', 'http://169.254.169.254/latest/meta-data/'],
    ['another host', 'https://evil.example/x.jpg'],
    ['another port of an allowed host', 'https://fastly.picsum.photos:8443/x.jpg'],
    ['plain http', 'http://fastly.picsum.photos/x.jpg'],
    ['another scheme', 'file:///etc/passwd'],
  ])('refuses %s', (_name, to) => {
    expect(refuses('https://picsum.photos/200', to)).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(' 3 ')).toBe(3000);
    expect(parseRetryAfter('   ')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('checkRedirect, exactly', () => {
  const local = loadConfig({ PICSUM_BASE_URL: 'http://127.0.0.1:9', PICSUM_REDIRECT_HOSTS: 'cdn.example' });
  const attempt = (from: string, to: string) => {
    try {
      checkRedirect(new URL(from), new URL(to), local);
      return undefined;
    } catch (error) {
      return error as SourceError;
    }
  };

  it('refuses another scheme even on an allowed host', () => {
    expect(attempt('http://127.0.0.1:9/a', 'ftp://127.0.0.1:9/x')).toMatchObject({
      reason: 'redirect_refused',
      message: 'Refused redirect to "ftp:" URL "ftp://127.0.0.1:9/x"',
    });
    expect(attempt('http://127.0.0.1:9/a', 'http://cdn.example/x')).toBeUndefined();
  });

  it('says why, quoting what the source chose', () => {
    expect(attempt('https://cdn.example/a', 'http://cdn.example/x')?.message).toBe(
      'Refused redirect from https to "http://cdn.example/x"',
    );
    expect(attempt('http://127.0.0.1:9/a', 'http://other.example:81/x')?.message).toBe(
      'Refused redirect to host "other.example:81", which is not in PICSUM_REDIRECT_HOSTS',
    );
  });
});

describe('quoted', () => {
  it('keeps 100 characters and cuts the 101st', () => {
    expect(quoted('a'.repeat(100))).toBe(JSON.stringify('a'.repeat(100)));
    expect(quoted('a'.repeat(101))).toBe(JSON.stringify(`${'a'.repeat(100)}...`));
  });
});

describe('parseRetryAfter, exactly', () => {
  it('reads padded seconds, and nothing from blanks or seconds with units', () => {
    expect(parseRetryAfter(' 3 ')).toBe(3000);
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('   ')).toBeUndefined();
    expect(parseRetryAfter('3s')).toBeUndefined();
    expect(parseRetryAfter('x3')).toBeUndefined();
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:00 GMT', Date.parse('2026-01-01T00:00:05Z'))).toBe(0);
  });
});

describe('toSourceError, by code', () => {
  it.each(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])(
    'calls %s a source timeout',
    (code) => {
      expect(toSourceError(Object.assign(new Error('late'), { code }))).toMatchObject({
        reason: 'source_timeout',
        message: 'Source timed out: late',
        retryable: true,
      });
    },
  );

  it('calls anything else a network failure, with its code when it has a string one', () => {
    expect(toSourceError(Object.assign(new Error('odd'), { code: 42 }))).toMatchObject({
      message: 'Source connection failed: odd',
    });
    expect(toSourceError('plain')).toMatchObject({
      reason: 'source_network',
      message: 'Source connection failed: plain',
    });
  });
});
