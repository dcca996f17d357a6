import { afterEach } from 'vitest';
import { startDevServer } from '../../lambda/local/dev-server.js';
import type { Harness } from './harness.js';

/**
 * A test file's dev servers: `start` one on a harness; each is closed after its test. Call it
 * after the file's own `afterEach` that closes the harness: hooks run last-registered first, so
 * the server (and the batches it runs) stops before the harness it stands on.
 */
export function devServers() {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const server of open.splice(0)) await server.close();
  });
  return {
    async start(harness: Harness): Promise<{ url: string }> {
      const server = await startDevServer(harness.runtime(), { port: 0, log: { info() {}, error() {} } });
      open.push(server);
      return server;
    },
  };
}
