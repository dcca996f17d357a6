import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import type { SourcePool } from '../../lambda/function/source/picsum.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * What stands between the code under test and the network. A request for a host off loopback goes
 * to a local server that counts it instead: a broken redirect check shows up in `contacts`, never
 * as a request to 169.254.169.254 or anywhere else off this machine.
 */
export type ContactCounter = {
  /** The origins (`http://169.254.169.254`, ...) the code tried to reach off loopback, in order. */
  contacts: string[];
  /** `pool` with every off-loopback request sent to the counter. */
  guard(pool: SourcePool): SourcePool;
  close(): Promise<void>;
};

export async function startContactCounter(): Promise<ContactCounter> {
  const server = createServer((_request, response) => {
    response.writeHead(403, { 'content-type': 'text/plain' }).end('off loopback: refused by the test');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const counterOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const contacts: string[] = [];

  const toLoopback: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => {
    const origin = String(options.origin);
    if (LOOPBACK_HOSTS.has(new URL(origin).hostname)) return dispatch(options, handler);
    contacts.push(origin);
    return dispatch({ ...options, origin: counterOrigin }, handler);
  };

  return {
    contacts,
    guard(pool) {
      let guarded: Dispatcher | undefined;
      return {
        dispatcher() {
          guarded ??= pool.dispatcher().compose(toLoopback);
          return guarded;
        },
        close: () => pool.close(),
      };
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
