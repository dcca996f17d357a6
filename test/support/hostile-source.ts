import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real JPEG's first bytes (SOI, APP0 "JFIF") then `size` bytes in all: enough for a magic-bytes check. */
export function jpegOf(size: number, fill = 0x61): Buffer {
  const body = Buffer.alloc(size, fill);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]).copy(body);
  return body;
}

/** A WebP's RIFF header, then `size` bytes in all. */
export function webpOf(size: number): Buffer {
  const body = Buffer.alloc(size, 0x62);
  body.write('RIFF', 0, 'latin1');
  body.writeUInt32LE(size - 8, 4);
  body.write('WEBPVP8 ', 8, 'latin1');
  return body;
}

/**
 * An image source that misbehaves as told, on loopback: `answer` writes each response by hand.
 * It counts every request it gets, so a test can prove what was (or was not) contacted.
 */
export async function startHostileSource(answer: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  const requests: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    answer(req, res, requests.length);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
