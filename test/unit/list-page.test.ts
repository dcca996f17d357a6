import { describe, expect, it } from 'vitest';
import { listPage } from '../../lambda/emulators/s3/list-page.js';

const keys = ['p/b2/x', 'p/b1/y', 'p/b1/x', 'p/top', 'q/other', 'p/b3/x'];

describe("the embedded S3's listing pages", () => {
  it('lists the keys under a prefix in order, a page at a time, each page starting after the last', () => {
    const first = listPage(keys, { prefix: 'p/', maxKeys: 2 });
    const second = listPage(keys, { prefix: 'p/', maxKeys: 2, after: first.last });
    const third = listPage(keys, { prefix: 'p/', maxKeys: 2, after: second.last });

    expect(first).toEqual({ keys: ['p/b1/x', 'p/b1/y'], commonPrefixes: [], truncated: true, last: 'p/b1/y' });
    expect(second.keys).toEqual(['p/b2/x', 'p/b3/x']);
    expect(third).toEqual({ keys: ['p/top'], commonPrefixes: [], truncated: false, last: 'p/top' });
  });

  it('rolls keys that share a folder into one common prefix, and goes on after it on the next page', () => {
    const first = listPage(keys, { prefix: 'p/', delimiter: '/', maxKeys: 2 });
    const second = listPage(keys, { prefix: 'p/', delimiter: '/', maxKeys: 2, after: first.last });

    expect(first).toEqual({ keys: [], commonPrefixes: ['p/b1/', 'p/b2/'], truncated: true, last: 'p/b2/' });
    expect(second).toEqual({ keys: ['p/top'], commonPrefixes: ['p/b3/'], truncated: false, last: 'p/top' });
  });

  it('orders by UTF-8 bytes, as S3 does, not by UTF-16 units', () => {
    // JavaScript's own sort puts U+1F600 (the surrogate pair D83D DE00) before U+FF61; UTF-8 bytes (F0… after EF…) do not.
    expect(listPage(['\u{1F600}', '\uFF61'], { prefix: '', maxKeys: 10 }).keys).toEqual(['\uFF61', '\u{1F600}']);
  });

  it('gives an empty page for max-keys 0, truncated when there is anything to list', () => {
    expect(listPage(keys, { prefix: 'p/', maxKeys: 0 })).toEqual({
      keys: [],
      commonPrefixes: [],
      truncated: true,
      last: undefined,
    });
  });
});
