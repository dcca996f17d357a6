import sharp from 'sharp';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OfflinePicsum, startOfflinePicsum } from '../../lambda/emulators/picsum/offline-picsum.js';

let picsum: OfflinePicsum;
beforeAll(async () => {
  picsum = await startOfflinePicsum();
});
afterAll(() => picsum?.close());

const get = async (url: string, headers: Record<string, string> = {}) => {
  const response = await request(url.startsWith('http') ? url : `${picsum.baseUrl}${url}`, { headers });
  const body = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body, text: body.toString('utf8') };
};

type Listed = { id: string; author: string; width: number; height: number; url: string; download_url: string };

describe('the offline picsum server, as picsum.photos behaves', () => {
  it('lists a catalog of about a thousand photos over 11 pages of 100, with Link headers', async () => {
    const photos: Listed[] = [];
    const links: string[] = [];
    for (let page = 1; page <= 11; page++) {
      const answer = await get(`/v2/list?page=${page}&limit=100`);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('application/json');
      links.push(String(answer.headers.link));
      photos.push(...(JSON.parse(answer.text) as Listed[]));
    }

    expect(photos.length).toBeGreaterThan(950);
    expect(photos.length).toBeLessThan(1085);
    expect(new Set(photos.map((photo) => photo.id)).size).toBe(photos.length);
    expect(photos[0]).toEqual({
      id: '0',
      // Plainly placeholders: no made-up person, no Unsplash page.
      author: 'Offline placeholder 0',
      width: expect.any(Number),
      height: expect.any(Number),
      url: 'https://offline-picsum.invalid/photos/0',
      download_url: `${picsum.baseUrl}/id/0/${photos[0]?.width}/${photos[0]?.height}`,
    });
    expect(links[0]).toBe(`<${picsum.baseUrl}/v2/list?page=2&limit=100>; rel="next"`);
    expect(links[1]).toBe(
      `<${picsum.baseUrl}/v2/list?page=1&limit=100>; rel="prev", <${picsum.baseUrl}/v2/list?page=3&limit=100>; rel="next"`,
    );
    expect(links[10]).toBe(`<${picsum.baseUrl}/v2/list?page=10&limit=100>; rel="prev"`);
    // The limit is clamped to 100, and defaults to 30.
    expect(JSON.parse((await get('/v2/list?limit=500')).text)).toHaveLength(100);
    expect(JSON.parse((await get('/v2/list')).text)).toHaveLength(30);
    // /id/{id}/info says the same as the list.
    const info = JSON.parse((await get(`/id/${photos[5]?.id}/info`)).text);
    expect(info).toEqual(photos[5]);
    // A seed names the same photo every time.
    expect((await get('/seed/cats/info')).text).toBe((await get('/seed/cats/info')).text);
  });

  it("redirects an image request (no-store) to the CDN host's /id/{id}/{w}/{h}.{ext}, query sorted and signed", async () => {
    const answer = await get('/id/10/300/200.webp?grayscale&blur');
    expect(answer.status).toBe(302);
    expect(answer.headers['cache-control']).toBe('private, no-cache, no-store, must-revalidate');
    const location = new URL(String(answer.headers.location));
    expect(location.host).toBe(picsum.imageHost);
    expect(location.pathname).toBe('/id/10/300/200.webp');
    expect(location.search).toMatch(/^\?blur=5&grayscale&hmac=[\w-]+$/);
    // Without an extension, .jpg; a size alone is square; a random photo is one of the catalog.
    expect(new URL(String((await get('/seed/x/64')).headers.location)).pathname).toMatch(/^\/id\/\d+\/64\/64\.jpg$/);
    expect(new URL(String((await get('/64/32')).headers.location)).pathname).toMatch(/^\/id\/\d+\/64\/32\.jpg$/);

    const image = await get(String(answer.headers.location));
    expect(image.status).toBe(200);
    expect(image.headers).toMatchObject({
      'content-type': 'image/webp',
      'content-length': String(image.body.length),
      'content-disposition': 'inline; filename="10-300x200-blur_5-grayscale.webp"',
      'cache-control': 'public, max-age=2592000, stale-while-revalidate=60, stale-if-error=43200, immutable',
      'picsum-id': '10',
    });
    expect(await sharp(image.body).metadata()).toMatchObject({ format: 'webp', width: 300, height: 200 });
    // The CDN host serves only what the API signed.
    const tampered = String(answer.headers.location).replace('blur=5', 'blur=6');
    expect(await get(tampered)).toMatchObject({ status: 400, text: 'Invalid parameters\n' });
  });

  it('draws each photo as its own picture: the same id the same bytes, another id other bytes', async () => {
    const image = async (path: string) => (await get(String((await get(path)).headers.location))).body;
    const [a, again, b] = await Promise.all([image('/id/3/120/80'), image('/id/3/120/80'), image('/id/4/120/80')]);
    expect(a.equals(again)).toBe(true);
    expect(a.equals(b)).toBe(false);
    const { width, height, format } = await sharp(a).metadata();
    expect({ width, height, format }).toEqual({ width: 120, height: 80, format: 'jpeg' });
    // Not noise: neighbouring pixels of a gradient are close (noise would differ by tens).
    const { data } = await sharp(a).raw().toBuffer({ resolveWithObject: true });
    expect(Math.abs((data[0] ?? 0) - (data[3] ?? 0))).toBeLessThan(12);
  });

  it('answers errors as picsum does: 400 Invalid size, blur or extension, 404 for a photo it does not have', async () => {
    expect(await get('/5001/10')).toMatchObject({ status: 400, text: 'Invalid size\n' });
    expect(await get('/10?blur=11')).toMatchObject({ status: 400, text: 'Invalid blur amount\n' });
    expect(await get('/10.png')).toMatchObject({ status: 400, text: 'Invalid file extension\n' });
    const missing = await get('/id/99999/10');
    expect(missing).toMatchObject({ status: 404, text: 'Image does not exist\n' });
    expect(missing.headers['content-type']).toBe('text/plain; charset=utf-8');
    const asJson = await get('/id/99999/info', { accept: 'application/json' });
    expect(asJson).toMatchObject({ status: 404, text: '{"error":"Image does not exist"}\n' });
  });

  it('answers 400 to a seed of malformed percent-encoding, and keeps serving', async () => {
    expect(await get('/seed/%E0%A4%A/10')).toMatchObject({ status: 400 });
    expect(await get('/seed/%E0%A4%A/info')).toMatchObject({ status: 400 });
    expect((await get('/seed/ok/10')).status).toBe(302);
  });
});
