import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import { settled } from '../../lambda/function/orchestration/lifecycle.js';
import { memoryS3 } from '../support/memory-s3.js';

const _config = loadConfig({ BUCKET_NAME: 'b', KEY_PREFIX: 'p/' });
const _deps = () => ({ s3: memoryS3(), source: { dispatcher: () => ({}) as never, close: async () => {} } });

describe('settled', () => {
  const running = {
    batchId: 'b',
    status: 'running' as const,
    requested: 5,
    done: 1,
    succeeded: 1,
    failed: 0,
    expiresAt: '2026-11-25T00:01:00.000Z',
  };

  it('reports a record past its expiry as interrupted, and one before it as it is', () => {
    expect(settled(running, Date.parse('2026-11-25T00:00:59Z'))).toBe(running);
    expect(settled(running, Date.parse('2026-11-25T00:01:00Z'))).toMatchObject({
      status: 'failed',
      error: 'interrupted',
      requested: 5,
      failedAt: '2026-11-25T00:01:00.000Z',
    });
    const accepted = {
      batchId: 'b',
      status: 'accepted' as const,
      requested: 5,
      acceptedAt: 'x',
      expiresAt: running.expiresAt,
    };
    expect(settled(accepted, Date.parse('2026-11-25T00:02:00Z'))).toMatchObject({
      status: 'failed',
      cause: expect.stringMatching(/accepted but never started/),
    });
  });

  it('leaves records without an expiry, and finished ones, alone', () => {
    const { expiresAt: _none, ...chunked } = running;
    expect(settled(chunked, Date.parse('2030-01-01T00:00:00Z'))).toBe(chunked);
    const failed = { batchId: 'b', status: 'failed' as const, requested: 1, error: 'x', cause: 'y', failedAt: 'z' };
    expect(settled(failed, 0)).toBe(failed);
  });
});
