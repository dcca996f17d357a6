import sharp from 'sharp';

export type ImageSpec = { id: number; width: number; height: number; format: 'jpg' | 'webp'; grayscale: boolean };

const VARIANTS = 8;
const cache = new Map<string, Promise<Buffer>>();

/**
 * A real JPEG or WebP of the given size: a tinted noise field, noisy enough that bodies weigh what
 * picsum's photos do (600x600: about 65 KB as JPEG, as picsum serves).
 */
function render(spec: ImageSpec, variant: number): Promise<Buffer> {
  const hue = (variant * 47) % 256;
  const image = sharp({
    create: {
      width: spec.width,
      height: spec.height,
      channels: 3,
      background: { r: hue, g: 255 - hue, b: (hue * 3) % 256 },
      noise: { type: 'gaussian', mean: 128, sigma: 12 },
    },
  });
  const toned = spec.grayscale ? image.grayscale() : image;
  return spec.format === 'webp' ? toned.webp({ quality: 80 }).toBuffer() : toned.jpeg({ quality: 80 }).toBuffer();
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

/** The image for `spec`, optionally padded to `bytes`; rendered once per variant and cached. */
export function imageFor(spec: ImageSpec, bytes?: number): Promise<Buffer> {
  const variant = spec.id % VARIANTS;
  const key = `${variant}:${spec.width}x${spec.height}:${spec.format}:${spec.grayscale}:${bytes ?? ''}`;
  let image = cache.get(key);
  if (!image) {
    image = render(spec, variant).then((rendered) => (bytes ? padImage(rendered, spec.format, bytes) : rendered));
    cache.set(key, image);
    if (cache.size > 256) cache.delete(cache.keys().next().value as string);
  }
  return image;
}
