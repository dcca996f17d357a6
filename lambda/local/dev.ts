import { messageOf } from '../function/contracts/errors.js';
import { devPort, startDevServer } from './dev-server.js';
import { startLocalRuntime } from './setup.js';

/** `npm run dev`: the HTTP API on 127.0.0.1:PORT until Ctrl-C. */
async function main() {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const port = devPort(process.env);
  const runtime = await startLocalRuntime({ warn: say });
  const server = await startDevServer(runtime, { port });
  say(`picsum-batch API on ${server.url} (images from ${runtime.sourceNote}; stored in ${runtime.storageNote})`);
  say(`Open ${server.url}/ for the page: a form for a batch, and each batch's images and waterfall.`);
  say(`Try: curl -s -X POST ${server.url}/batches -H 'content-type: application/json' -d '{"count":5}'`);
  // The first signal cancels running batches (each writes its manifest) and stops; a second quits at once.
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    say(`${signal}: cancelling running batches and writing their manifests (again to quit at once).`);
    await server.close();
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`picsum-batch dev server: ${messageOf(error)}\n`);
  process.exit(1);
});
