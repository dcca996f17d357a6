/**
 * A benchmark server in a process of its own, so that it shares no event loop with the client
 * being measured nor with the other server, as picsum and S3 share nothing in the real world.
 *   tsx test/bench/servers.ts picsum LATENCY_MS [IMAGE_BYTES [unsized]]   the offline picsum server
 *     (unsized: images without Content-Length, chunked)
 *   tsx test/bench/servers.ts s3                                the embedded S3 in a temporary folder
 *     (in memory, /dev/shm, where there is one: BENCH_S3_DIR overrides)
 *   tsx test/bench/servers.ts null-s3                           answers every request 200 at once and
 *     keeps nothing: what the pipeline does when storing costs this machine no CPU (a diagnostic)
 * Prints one JSON line with its address, then runs until stdin closes. The picsum server answers a
 * `stats` line on stdin with one JSON line: the requests it has had since the last, by hop; and
 * `prerender SIZE` once it has drawn every photo at SIZE x SIZE (picsum's CDN serves from its cache).
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startOfflinePicsum } from '../../lambda/emulators/picsum/offline-picsum.js';
import { startEmbeddedS3 } from '../../lambda/emulators/s3/embedded-s3.js';
import { BENCH_S3_CREDENTIALS } from './credentials.js';

const [role, latency, bytes, sized] = process.argv.slice(2);
let close: () => Promise<void>;
if (role === 's3') {
  // S3 keeps objects on servers of its own; the embedded S3 keeps a file per object on this
  // machine's disk. On ext4 over a virtual disk that took 1.5-2.7 s per 1000 small PUTs from run to run
  // (the store half of the floor moved with it); in memory it is 1.4 s, and steady.
  const parent = process.env.BENCH_S3_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const directory = await mkdtemp(join(parent, 'picsum-bench-s3-'));
  // The tutorial's contender PUTs unsigned, as the tutorial did (it skips SigV4: less work than ours).
  const s3 = await startEmbeddedS3({
    directory,
    bucket: 'bench',
    credentials: BENCH_S3_CREDENTIALS,
    acceptUnsigned: true,
  });
  process.stdout.write(`${JSON.stringify({ s3Endpoint: s3.endpoint, bucket: s3.bucket })}\n`);
  close = async () => {
    await s3.close({ hard: true });
    await rm(directory, { recursive: true, force: true });
  };
} else if (role === 'null-s3') {
  const server = createServer((req, res) => {
    req.resume().on('end', () => res.writeHead(200, { ETag: '"0"' }).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ s3Endpoint: `http://127.0.0.1:${port}`, bucket: 'bench' })}\n`);
  close = async () => {
    server.closeAllConnections();
    server.close();
  };
} else {
  const picsum = await startOfflinePicsum({
    latencyMs: Number(latency ?? 0),
    imageBytes: Number(bytes) || undefined,
    faults: sized === 'unsized' ? (request) => (request.hop === 'image' ? { kind: 'chunked' } : undefined) : undefined,
  });
  process.stdout.write(`${JSON.stringify({ baseUrl: picsum.baseUrl, imageHost: picsum.imageHost })}\n`);
  close = () => picsum.close();
  createInterface({ input: process.stdin }).on('line', async (line) => {
    const [command, size] = line.trim().split(' ');
    if (command === 'prerender') {
      const photos = await picsum.prerender(Number(size), Number(size));
      process.stdout.write(`${JSON.stringify({ photos })}\n`);
      return;
    }
    if (command !== 'stats') return;
    const requests = picsum.requests.length;
    const images = picsum.requests.filter((request) => request.hop === 'image').length;
    const catalog = picsum.requests.filter((request) => request.path.startsWith('/v2/list')).length;
    process.stdout.write(`${JSON.stringify({ requests, images, catalog })}\n`);
    // Counted: the log would otherwise grow with every request of a long bench.
    picsum.requests.length = 0;
  });
}
process.stdin.resume();
process.stdin.on('end', async () => {
  await close();
  process.exit(0);
});
