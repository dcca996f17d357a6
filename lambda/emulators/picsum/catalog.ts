/** A photo as picsum's `/v2/list` and `/id/{id}/info` describe it (without `download_url`). */
export type CatalogPhoto = { id: string; author: string; width: number; height: number; url: string };

/** picsum's ids run from 0 to 1084, with gaps where photos were removed. */
const LAST_ID = 1084;

// Made-up names: the catalog is deterministic, and credits nobody real.
const FIRST_NAMES = [
  'Alba',
  'Bruno',
  'Chiara',
  'Dmitri',
  'Elif',
  'Farid',
  'Greta',
  'Hugo',
  'Ines',
  'Jonas',
  'Keiko',
  'Luca',
  'Maren',
  'Nils',
  'Olga',
  'Pablo',
  'Quinn',
  'Rosa',
  'Sven',
  'Tamsin',
  'Umar',
  'Vera',
  'Wim',
  'Yara',
  'Zeno',
];
const LAST_NAMES = [
  'Abara',
  'Berglund',
  'Castell',
  'Dunmore',
  'Eskola',
  'Fontaine',
  'Grieve',
  'Halloran',
  'Ibsen',
  'Jaramillo',
  'Kowal',
  'Lindqvist',
  'Moreau',
  'Novak',
  'Okafor',
  'Pirelli',
  'Quist',
  'Rahman',
  'Sato',
  'Thorne',
  'Ueda',
];
/** Original sizes, as photographers upload them (all within picsum's 5000-pixel limit). */
const SIZES: readonly [number, number][] = [
  [5000, 3333],
  [4000, 3000],
  [3000, 2000],
  [5000, 3750],
  [2500, 1667],
  [4272, 2848],
  [3840, 2160],
  [2000, 3000],
];
const SLUG_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';

/** A 32-bit mix of `n` (the same on every run: the catalog never changes). */
function mix(n: number): number {
  let x = (n + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

function photo(id: number): CatalogPhoto {
  const h = mix(id);
  const [width, height] = SIZES[h % SIZES.length] as [number, number];
  let slug = '';
  for (let i = 0, x = h; i < 11; i++, x = mix(x + i)) slug += SLUG_ALPHABET[x % SLUG_ALPHABET.length];
  return {
    id: String(id),
    author: `${FIRST_NAMES[(h >>> 8) % FIRST_NAMES.length]} ${LAST_NAMES[(h >>> 16) % LAST_NAMES.length]}`,
    width,
    height,
    url: `https://unsplash.com/photos/${slug}`,
  };
}

/** The offline catalog: about a thousand photos (one id in thirteen is a gap), in id order. */
export const CATALOG: readonly CatalogPhoto[] = Object.freeze(
  Array.from({ length: LAST_ID + 1 }, (_, id) => id)
    .filter((id) => mix(id * 7919) % 13 !== 0)
    .map(photo),
);

const BY_ID = new Map(CATALOG.map((entry) => [entry.id, entry]));

export const catalogPhoto = (id: string): CatalogPhoto | undefined => BY_ID.get(id);
