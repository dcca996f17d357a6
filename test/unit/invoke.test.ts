import { describe, expect, it } from 'vitest';
import { regionFromApiUrl } from '../../lambda/local/signed-client.js';

describe('regionFromApiUrl', () => {
  it('reads the region from an execute-api host, and nothing from another host', () => {
    expect(regionFromApiUrl(new URL('https://a1b2c3.execute-api.eu-west-1.amazonaws.com/v1/'))).toBe('eu-west-1');
    expect(regionFromApiUrl(new URL('http://127.0.0.1:3000/'))).toBeUndefined();
  });
});
