import sharp from 'sharp';

export type ImageSpec = {
  id: number;
  width: number;
  height: number;
  format: 'jpg' | 'webp';
  grayscale: boolean;
  /** picsum's `?blur=N`, 1..10. */
  blur?: number | undefined;
};

/**
 * Rendered pictures (every photo of the catalog at a few sizes fits), and the last few padded
 * bodies (a benchmark's padded images are large: a few of them, reused, are enough).
 */
const rendered = new Map<string, Promise<Buffer>>();
const RENDERED_IMAGES = 4096;
const padded = new Map<string, Promise<Buffer>>();
const PADDED_IMAGES = 64;

/** `map[key]`, made by `make` when missing; the oldest entry goes past `limit`. */
function cached(map: Map<string, Promise<Buffer>>, limit: number, key: string, make: () => Promise<Buffer>) {
  let value = map.get(key);
  if (!value) {
    value = make();
    map.set(key, value);
    if (map.size > limit) map.delete(map.keys().next().value as string);
  }
  return value;
}

/** Seven-segment digits: which of the segments a (top) to g (middle) each one lights. */
const SEGMENTS: Record<string, string> = {
  '0': 'abcdef',
  '1': 'bc',
  '2': 'abdeg',
  '3': 'abcdg',
  '4': 'bcfg',
  '5': 'acdfg',
  '6': 'acdefg',
  '7': 'abc',
  '8': 'abcdefg',
  '9': 'abcdfg',
};

/** The rectangles of one digit `w` wide and `2w` high at (x, y), strokes `t` thick. */
function digitRects(digit: string, x: number, y: number, w: number, t: number): string {
  const h = 2 * w;
  const places: Record<string, [number, number, number, number]> = {
    a: [x, y, w, t],
    b: [x + w - t, y, t, h / 2],
    c: [x + w - t, y + h / 2, t, h / 2],
    d: [x, y + h - t, w, t],
    e: [x, y + h / 2, t, h / 2],
    f: [x, y, t, h / 2],
    g: [x, y + (h - t) / 2, w, t],
  };
  return [...(SEGMENTS[digit] ?? '')]
    .map((segment) => {
      const [rx, ry, rw, rh] = places[segment] as [number, number, number, number];
      return `<rect x="${rx.toFixed(1)}" y="${ry.toFixed(1)}" width="${rw.toFixed(1)}" height="${rh.toFixed(1)}"/>`;
    })
    .join('');
}

/**
 * A picture for photo `id`: a diagonal gradient in the photo's own colours, a few soft circles
 * placed by the id, and the id itself drawn large in seven-segment digits (no fonts needed), so
 * that a person looking at a batch can tell its photos apart and read which is which.
 */
export function pictureSvg(id: number, width: number, height: number): string {
  const hue = (id * 137) % 360;
  const circles = [0, 1, 2]
    .map((i) => {
      const seed = (id + 1) * (i + 3) * 2654435761;
      const cx = ((seed >>> 3) % 1000) / 1000;
      const cy = ((seed >>> 13) % 1000) / 1000;
      const r = 0.15 + ((seed >>> 23) % 100) / 400;
      return `<circle cx="${(cx * width).toFixed(1)}" cy="${(cy * height).toFixed(1)}" r="${(r * Math.min(width, height)).toFixed(1)}" fill="hsl(${(hue + 180 + i * 40) % 360},70%,70%)" fill-opacity="0.35"/>`;
    })
    .join('');
  const digits = String(id);
  const digitWidth = Math.min((width * 0.7) / (digits.length * 1.4), (height * 0.45) / 2);
  const thickness = Math.max(1, digitWidth / 5);
  const rowWidth = digits.length * digitWidth * 1.4 - digitWidth * 0.4;
  const left = (width - rowWidth) / 2;
  const top = (height - 2 * digitWidth) / 2;
  const number = [...digits]
    .map((digit, i) => digitRects(digit, left + i * digitWidth * 1.4, top, digitWidth, thickness))
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
<stop offset="0" stop-color="hsl(${hue},65%,55%)"/><stop offset="1" stop-color="hsl(${(hue + 60) % 360},70%,28%)"/>
</linearGradient></defs>
<rect width="100%" height="100%" fill="url(#g)"/>${circles}
<g fill="white" fill-opacity="0.9" stroke="black" stroke-opacity="0.35" stroke-width="${(thickness / 4).toFixed(1)}">${number}</g>
</svg>`;
}

/** A real JPEG or WebP of the picture for `spec`, with picsum's grayscale and blur. */
function render(spec: ImageSpec): Promise<Buffer> {
  let image = sharp(Buffer.from(pictureSvg(spec.id, spec.width, spec.height)));
  if (spec.grayscale) image = image.grayscale();
  if (spec.blur !== undefined) image = image.blur(spec.blur);
  return spec.format === 'webp' ? image.webp({ quality: 80 }).toBuffer() : image.jpeg({ quality: 80 }).toBuffer();
}

/**
 * Pads a JPEG with comment (COM) segments, or a WebP with an unknown RIFF chunk, to exactly
 * `bytes` (when it is larger than the image): still a valid image that decoders display,
 * of the size a benchmark asks for.
 */
export function padImage(image: Buffer, format: 'jpg' | 'webp', bytes: number): Buffer {
  if (format === 'jpg') {
    // Each COM segment: FF FE, 2-byte length (counting itself), up to 65533 bytes of payload.
    const segments: Buffer[] = [];
    let missing = bytes - image.length;
    while (missing >= 4) {
      const payload = Math.min(65_533, missing - 4);
      const segment = Buffer.alloc(4 + payload, 0x20);
      segment.writeUInt16BE(0xfffe, 0);
      segment.writeUInt16BE(payload + 2, 2);
      segments.push(segment);
      missing -= segment.length;
    }
    // Whatever is left (0 to 3 bytes) goes after EOI, which decoders ignore.
    return Buffer.concat([image.subarray(0, 2), ...segments, image.subarray(2), Buffer.alloc(Math.max(0, missing))]);
  }
  // RIFF chunks are 8 bytes of header plus an even-sized payload.
  let payload = bytes - image.length - 8;
  if (payload < 0) return image;
  payload -= payload % 2;
  const chunk = Buffer.alloc(8 + payload, 0);
  chunk.write('PADD', 0, 'ascii');
  chunk.writeUInt32LE(payload, 4);
  const padded = Buffer.concat([image, chunk]);
  padded.writeUInt32LE(padded.length - 8, 4);
  return padded;
}

/** The image for `spec`, optionally padded to `bytes`: rendered once, then kept (see above). */
export function imageFor(spec: ImageSpec, bytes?: number): Promise<Buffer> {
  const key = `${spec.id}:${spec.width}x${spec.height}:${spec.format}:${spec.grayscale}:${spec.blur ?? ''}`;
  const image = cached(rendered, RENDERED_IMAGES, key, () => render(spec));
  if (!bytes) return image;
  return cached(padded, PADDED_IMAGES, `${key}:${bytes}`, async () => padImage(await image, spec.format, bytes));
}
