import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/function/contracts/config.js';
import type { RequestError } from '../../lambda/function/contracts/errors.js';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import { PhotoLedger } from '../../lambda/function/pipeline/photo-ledger.js';
import type { Catalog, CatalogPhoto } from '../../lambda/function/source/catalog.js';
import { checkAgainstCatalog, photoPicker } from '../../lambda/function/source/photo-picks.js';

const limits = loadConfig({});
const photos: CatalogPhoto[] = Array.from({ length: 50 }, (_, i) => ({
  id: String(i * 3),
  author: `Author ${i}`,
  width: 100,
  height: 100,
  url: `https://example.com/${i}`,
}));
const catalog: Catalog = { photos, byId: new Map(photos.map((photo) => [photo.id, photo])) };
const request = (input: object) => parseRequest(input, limits);
const picks = (input: object, batchId = 'b', count = 20) => {
  const pick = photoPicker(request(input), catalog, batchId);
  return Array.from({ length: count }, (_, index) => pick(index)?.id);
};

describe('photoPicker', () => {
  it('repeats a seeded choice, batch after batch, and draws anew for each batch without a seed', () => {
    expect(picks({ seed: 'cats' }, 'one')).toEqual(picks({ seed: 'cats' }, 'two'));
    expect(picks({ seed: 'cats' })).not.toEqual(picks({ seed: 'dogs' }));
    expect(picks({}, 'one')).not.toEqual(picks({}, 'two'));
    // Without a seed the batch id is the key: every chunk and retry of a batch agrees.
    expect(picks({}, 'one')).toEqual(picks({}, 'one'));
    expect(picks({ seed: 'cats' }).every((id) => catalog.byId.has(id ?? ''))).toBe(true);
  });

  it('gives different photos with distinct, all of them for a batch the size of the catalog', () => {
    const all = picks({ distinct: true, seed: 's' }, 'b', 50);
    expect(new Set(all).size).toBe(50);
    expect(picks({ distinct: true, seed: 's' }, 'other', 50)).toEqual(all);
  });

  it('takes ids in their order, with the credit the catalog gives', () => {
    const pick = photoPicker(request({ ids: ['9', '0', '9'] }), catalog, 'b');
    expect([pick(0), pick(1), pick(2)].map((photo) => photo?.id)).toEqual(['9', '0', '9']);
    expect(pick(0)).toMatchObject({ author: 'Author 3', url: 'https://example.com/3' });
  });
});

describe('checkAgainstCatalog', () => {
  const refusal = (input: object) => {
    try {
      checkAgainstCatalog(request(input), catalog);
    } catch (error) {
      return error as RequestError;
    }
    throw new Error('expected a refusal');
  };

  it('refuses more distinct photos than the catalog has, naming its size', () => {
    expect(() => checkAgainstCatalog(request({ distinct: true, count: 50 }), catalog)).not.toThrow();
    const error = refusal({ distinct: true, count: 51 });
    expect(error).toMatchObject({ field: 'distinct', code: 'INVALID_FIELD' });
    expect(error.message).toMatch(/catalog has 50 photos, got 51/);
  });

  it('refuses ids the catalog does not have, naming them', () => {
    const error = refusal({ ids: ['3', '4', '5', '6'] });
    expect(error).toMatchObject({ field: 'ids', code: 'INVALID_FIELD' });
    expect(error.message).toMatch(/it has no 4, 5$/);
  });
});

describe('PhotoLedger', () => {
  it('lets the first claim of a photo fetch it; later ones get where it was stored, or why it was not', async () => {
    const ledger = new PhotoLedger([['7', { index: 0, key: 'k0', bytes: 1, sha256: 'h' }]]);
    const seeded = ledger.claim('7');
    expect(seeded.first).toBe(false);
    if (!seeded.first) expect(await seeded.outcome).toMatchObject({ key: 'k0' });

    const first = ledger.claim('8');
    const later = ledger.claim('8');
    expect(first.first).toBe(true);
    if (first.first) first.settle({ index: 3, reason: 'source_status' });
    if (!later.first) expect(await later.outcome).toEqual({ index: 3, reason: 'source_status' });
  });
});
