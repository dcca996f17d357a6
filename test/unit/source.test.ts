import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { checkRedirect, imageUrl, parseRetryAfter } from '../../lambda/function/source/picsum.js';
import { SourceError } from '../../lambda/function/source/source-error.js';

const config = loadConfig({});
const request = (input: object) => parseRequest(input, config);
const base = new URL('https://picsum.photos');

describe('imageUrl', () => {
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
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
