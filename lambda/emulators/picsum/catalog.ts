/** A photo as picsum's `/v2/list` and `/id/{id}/info` describe it (without `download_url`). */
export type CatalogPhoto = { id: string; author: string; width: number; height: number; url: string };

/** picsum's ids run from 0 to 1084, with gaps where photos were removed. */
const LAST_ID = 1084;

/**
 * Where the offline catalog says its photos are: a reserved name (RFC 2606), so that no credit of a
 * placeholder can pass for a real photographer's page.
 */
export const OFFLINE_PHOTO_PAGES = 'https://offline-picsum.invalid/photos';

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

/** A 32-bit mix of `n` (the same on every run: the catalog never changes). */
function mix(n: number): number {
  let x = (n + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

function photo(id: number): CatalogPhoto {
  const [width, height] = SIZES[mix(id) % SIZES.length] as [number, number];
  return {
    id: String(id),
    // Plainly nobody: a placeholder credited as a person would read as a real photographer's work.
    author: `Offline placeholder ${id}`,
    width,
    height,
    url: `${OFFLINE_PHOTO_PAGES}/${id}`,
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
