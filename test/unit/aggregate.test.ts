import { describe, expect, it } from 'vitest';
import { joinChunks } from '../../lambda/function/orchestration/chunked/index.js';
import { failed, stored } from '../support/outcomes.js';

describe('joinChunks', () => {
  it('keeps every recorded item in index order and fails each item of a missing chunk, saying which', () => {
    const plan = {
      startedAt: '2026-11-25T00:00:00.000Z',
      chunks: [
        { chunk: 0, start: 0, end: 2 },
        { chunk: 1, start: 2, end: 5 },
        { chunk: 2, start: 5, end: 6 },
      ],
    };
    const summary = (finishedAt: string) => ({ finishedAt }) as never;
    const records = [
      { summary: summary('2026-11-25T00:00:05.000Z'), items: [stored(0), failed(1)] },
      undefined,
      { summary: summary('2026-11-25T00:00:03.000Z'), items: [stored(5)] },
    ];

    const { items, missingChunks, finishedAt } = joinChunks(plan, records);

    expect(items.map((item) => item.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(items.slice(2, 5)).toEqual(
      [2, 3, 4].map((index) => ({
        index,
        ok: false,
        reason: 'chunk_failed',
        message: 'Chunk 1 (items 2-4) did not finish',
        attempts: 0,
        latencyMs: 0,
      })),
    );
    expect(missingChunks).toEqual([1]);
    expect(finishedAt).toBe(Date.parse('2026-11-25T00:00:05.000Z'));
  });

  it('ends when the plan started when no chunk finished', () => {
    const plan = { startedAt: '2026-11-25T00:00:00.000Z', chunks: [{ chunk: 0, start: 0, end: 1 }] };
    expect(joinChunks(plan, [undefined]).finishedAt).toBe(Date.parse(plan.startedAt));
  });
});
