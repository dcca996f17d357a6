import { messageOf, RequestError } from '../function/contracts/errors.js';
import { parseBatchId } from '../function/contracts/request.js';
import type { BatchResult, BatchStatus } from '../function/contracts/result.js';
import { EXIT_CODES, exitCodeOf } from './exit-codes.js';
import { INVOKE_USAGE, parseFlags } from './flags.js';
import { regionFromApiUrl, signedClient } from './signed-client.js';
import { summarize } from './summary.js';

/** How often a background batch's status is asked for: often enough to follow, rarely enough to cost nothing. */
const POLL_MS = 2_000;

/**
 * `npm run invoke -- --url <ApiUrl> [request flags]`: runs a batch on the deployed stack;
 * with `--retry BATCH_ID`, that batch's unfinished items again.
 */
export async function invoke(
  argv: string[],
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  timing: { pollMs?: number } = {},
): Promise<number> {
  const pollMs = timing.pollMs ?? POLL_MS;
  const options = parseFlags(argv, 'invoke');
  if (options.help) {
    print(INVOKE_USAGE);
    return EXIT_CODES.stored;
  }
  if (!options.url) throw new RequestError('Expected `--url` (the ApiUrl output of the stack)', { field: 'url' });
  const baseUrl = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
  const region = options.region ?? regionFromApiUrl(baseUrl) ?? process.env.AWS_REGION;
  if (!region)
    throw new RequestError('Expected `--region` (or AWS_REGION): the URL does not name one', { field: 'region' });
  const say = (line: string) => {
    if (!options.json) process.stderr.write(`${line}\n`);
  };
  const call = signedClient({ baseUrl, region });

  const key: Record<string, string> =
    options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey };
  let response = options.retry
    ? await call('POST', `batches/${encodeURIComponent(parseBatchId(options.retry, '--retry'))}/retry`, {})
    : await call('POST', 'batches', options.input, key);
  if (response.status === 202) {
    const { batchId } = response.body as { batchId: string };
    say(`Batch ${batchId} accepted; it runs in the background. Waiting for it...`);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      response = await call('GET', `batches/${batchId}`);
      const status = response.body as BatchStatus;
      if (response.status !== 200 || status.status === 'done' || status.status === 'cancelled') break;
      if (status.status === 'failed') throw new Error(`Batch ${batchId} failed: ${status.error} ${status.cause}`);
      if (status.status === 'running') {
        const chunks = status.chunks ? `, chunks ${status.chunks.done}/${status.chunks.total} finished` : '';
        const total = status.retry ? status.retry.items : status.requested;
        const retry = status.retry ? `retry ${status.retry.run}: ` : '';
        say(`${retry}${status.done}/${total} done (${status.failed} failed${chunks})`);
      }
    }
    if (response.status === 200) response = { status: 200, body: (response.body as { result: BatchResult }).result };
  }
  if (response.status !== 200) {
    const detail = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
    throw new Error(`The API answered HTTP ${response.status}: ${detail}`);
  }
  const result = response.body as BatchResult;
  print(
    options.json
      ? JSON.stringify(result)
      : summarize(result, {
          storageNote: 'AWS S3',
          retry: `npm run invoke -- --url ${options.url} --retry ${result.batchId}`,
        }),
  );
  if (!options.json && !result.manifestError) {
    // The batch as a page: report.html references its images by their keys beside it.
    const folder = `./${result.batchId}`;
    print(`See it: aws s3 sync s3://${result.bucket}/${result.prefix} ${folder} && open ${folder}/report.html`);
  }
  return exitCodeOf(result);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  invoke(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`picsum-batch invoke: ${messageOf(error)}\n`);
      process.exit(error instanceof RequestError ? EXIT_CODES.usage : EXIT_CODES.error);
    },
  );
}
