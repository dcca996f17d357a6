import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { integerVar, loadConfig } from '../function/contracts/config.js';
import { messageOf, RequestError } from '../function/contracts/errors.js';
import { parseBatchId, parseRequest } from '../function/contracts/request.js';
import type { BatchResult } from '../function/contracts/result.js';
import { type BatchJob, jobSize, newBatchId } from '../function/orchestration/batch.js';
import { executionOf } from '../function/orchestration/engine.js';
import { checkRequestPhotos } from '../function/orchestration/photos.js';
import { batchPrefix } from '../function/storage/keys.js';
import { type BatchFolder, checkOutFolder, writeBatchFolder } from './batch-folder.js';
import { EXIT_CODES, exitCodeOf } from './exit-codes.js';
import { type CliOptions, parseFlags, USAGE } from './flags.js';
import { progressReporter } from './progress.js';
import { DATA_DIRECTORY, type LocalRuntime, runOnEngine, startLocalRuntime } from './setup.js';
import { batchTable, deletedText, sourceOption, summarize } from './summary.js';

/** Locally there is no Lambda clock: allow as long as Lambda's own maximum, unless told otherwise. */
const localBudgetMs = (env: NodeJS.ProcessEnv) => integerVar(env, 'LOCAL_TIME_BUDGET_MS', 15 * 60_000, 1, 86_400_000);

/** This package's version, from the package.json beside the compiled command's folder. */
function packageVersion(): string {
  const path = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM: the first cancels the batch — no new item starts, downloads in flight
 * are aborted, bodies already whole are written, and the manifest records every unfinished item as
 * `cancelled`; the second quits at once.
 */
function cancelOnSignals(say: (line: string) => void): AbortSignal {
  const cancel = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (cancel.signal.aborted) process.exit(EXIT_CODES.cancelled);
    say(`\n${signal}: cancelling; writing the manifest (press Ctrl-C again to quit at once).`);
    cancel.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return cancel.signal;
}

async function main(argv: string[]): Promise<number> {
  const options = parseFlags(argv);
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_CODES.stored;
  }
  if (options.version) {
    process.stdout.write(`picsum-batch ${packageVersion()} (Node.js ${process.versions.node})\n`);
    return EXIT_CODES.stored;
  }
  const say = (line: string) => {
    if (!options.json) process.stderr.write(`${line}\n`);
  };
  if (options.list) return listHere(options);
  if (options.delete !== undefined) return deleteHere(options.delete, options.json);
  // Validate before starting any server: a typo should cost nothing.
  const budgetMs = localBudgetMs(process.env);
  const retryOf = options.retry === undefined ? undefined : parseBatchId(options.retry, '--retry');
  const request = retryOf === undefined ? parseRequest(options.input, loadConfig(process.env)) : undefined;
  const out =
    options.out === undefined ? undefined : await checkOutFolder(options.out, join(process.cwd(), DATA_DIRECTORY));
  const cancel = cancelOnSignals((line) => process.stderr.write(`${line}\n`));
  // Warnings (a fallback to placeholders) reach stderr with --json too: they change what is stored.
  // They are held until work starts: a retry refused (no such batch) stores nothing, and says so alone.
  const warnings: string[] = [];
  const runtime = await startLocalRuntime({ source: options.source, cancel, warn: (line) => warnings.push(line) });
  const warnNow = () => {
    for (const line of warnings.splice(0)) process.stderr.write(`${line}\n`);
  };
  try {
    const mode = options.json ? 'silent' : process.stderr.isTTY ? 'tty' : 'plain';
    const progress = progressReporter(mode, (text) => process.stderr.write(text));
    const { chunkSize, syncMaxCount } = runtime.config;
    const run = async (job: BatchJob): Promise<BatchResult> => {
      warnNow();
      const size = jobSize(job);
      const what = job.retry
        ? `Retry ${job.retry.run} of batch ${job.batchId}: fetching its ${size} unfinished`
        : `Fetching ${size}`;
      say(`${what} images from ${runtime.sourceNote}, ${job.request.concurrency} at a time.`);
      // As the API would: what fits one request runs here, the rest on the batch state machine.
      if (runtime.batches.runsHere(job, syncMaxCount)) {
        return runtime.batches.run(job, { deadlineAt: Date.now() + budgetMs, cancel, onProgress: progress.update });
      }
      say(
        `Over SYNC_MAX_COUNT (${syncMaxCount}): running it on the batch state machine, here, as execution ${executionOf(job)}` +
          (size > chunkSize ? `, in chunks of at most ${chunkSize}.` : '.'),
      );
      return runOnEngine(runtime, job, (counts) => progress.update({ ...counts, total: size }));
    };
    // A request the catalog cannot satisfy is refused here, as the API refuses it: before a word of
    // work is printed or a record written (exit 2, nothing started).
    if (request) await checkRequestPhotos(request, runtime);
    const work = request ? { job: { batchId: newBatchId(), request } } : await claimRetryHere(retryOf ?? '', runtime);
    if (typeof work === 'string') {
      process.stderr.write(`picsum-batch: ${work}\n`);
      return EXIT_CODES.error;
    }
    if ('result' in work) say(`Batch ${work.result.batchId} has no unfinished items: nothing to retry.`);
    const result = 'result' in work ? work.result : await run(work.job);
    progress.finish();
    const folder = await copyToFolder(result, runtime, out, cancel);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      process.stdout.write(`${summarize(result, { storageNote: runtime.storageNote, folder })}\n`);
    }
    return folder?.error === 'cancelled' ? EXIT_CODES.cancelled : exitCodeOf(result);
  } finally {
    await runtime.close();
  }
}

/** `--list`: a page of the bucket's batches, newest first, as a table (or the page as JSON). */
async function listHere(options: CliOptions): Promise<number> {
  const cursor = options.cursor === undefined ? undefined : parseBatchId(options.cursor, '--cursor');
  const runtime = await startLocalRuntime({ storageOnly: true });
  try {
    const page = await runtime.batches.list(cursor === undefined ? {} : { cursor });
    process.stdout.write(`${options.json ? JSON.stringify(page) : batchTable(page)}\n`);
    return EXIT_CODES.stored;
  } finally {
    await runtime.close();
  }
}

/**
 * `--delete BATCH_ID`: every object of a batch that has ended, as `DELETE /batches/{batchId}` does,
 * and its copy beside the embedded S3's data (`.data/batches/{batchId}`). A batch gone already is
 * deleted again, removing nothing; one that may still run is refused (exit 1), deleting nothing.
 */
async function deleteHere(rawId: string, json: boolean): Promise<number> {
  const batchId = parseBatchId(rawId, '--delete');
  const runtime = await startLocalRuntime({ storageOnly: true });
  try {
    const outcome = await runtime.batches.delete(batchId);
    if ('running' in outcome) {
      process.stderr.write(
        `picsum-batch: batch ${batchId} is ${outcome.running.status}; delete it once it has ended\n`,
      );
      return EXIT_CODES.error;
    }
    const copy = runtime.dataDirectory && join(dirname(runtime.dataDirectory), 'batches', batchId);
    const hadCopy = copy !== undefined && existsSync(copy);
    if (copy) await rm(copy, { recursive: true, force: true });
    const { removal } = outcome;
    const where = `s3://${runtime.config.bucket}/${batchPrefix(runtime.config, batchId)}`;
    process.stdout.write(
      `${json ? JSON.stringify(removal) : deletedText(removal.deleted, where, hadCopy ? copy : undefined)}\n`,
    );
    return EXIT_CODES.stored;
  } finally {
    await runtime.close();
  }
}

/**
 * The batch as a folder that opens from disk (see writeBatchFolder): under `--out` (checked before
 * the batch ran), or beside the embedded S3's data (`.data/batches`); none for a configured bucket
 * unless asked, nor without a manifest. A copy that fails or is cancelled says so in `error`.
 */
async function copyToFolder(
  result: BatchResult,
  runtime: LocalRuntime,
  out: string | undefined,
  signal: AbortSignal,
): Promise<BatchFolder | undefined> {
  const directory = out ?? (runtime.dataDirectory && join(dirname(runtime.dataDirectory), 'batches'));
  if (directory === undefined || result.manifestError) return undefined;
  const manifest = await runtime.batches.records.manifest(result.batchId);
  return manifest && writeBatchFolder(result.batchId, manifest, { ...runtime, signal }, resolve(directory));
}

/**
 * `--retry BATCH_ID` against the configured bucket: the claimed retry's job, the batch's result when
 * nothing of it is unfinished, or why it cannot be retried.
 */
async function claimRetryHere(
  batchId: string,
  runtime: LocalRuntime,
): Promise<{ job: BatchJob } | { result: BatchResult } | string> {
  const retry = await runtime.batches.claimRetry(batchId);
  switch (retry.kind) {
    case 'claimed':
    case 'resume':
      return { job: retry.job };
    case 'nothing':
      return { result: retry.result };
    case 'unknown':
    case 'no-manifest':
      return noManifest(batchId, runtime);
    case 'other-source': {
      return `batch ${batchId} was fetched from ${retry.source}, and this run's source is ${runtime.config.source}: a batch keeps to one source, so retry it with --source ${sourceOption(retry.source)}`;
    }
    case 'busy':
      return `batch ${batchId} is ${retry.status.status}; retry it once it has finished`;
  }
}

/**
 * Why a batch without a manifest cannot be retried, with what its folder holds: a run stopped
 * before it wrote its manifest (killed, say) leaves images that no record accounts for.
 */
async function noManifest(batchId: string, runtime: LocalRuntime): Promise<string> {
  const { config } = runtime;
  const where = `s3://${config.bucket}/${batchPrefix(config, batchId)} (${runtime.storageNote})`;
  const objects = await runtime.batches.records.objectCount(batchId);
  if (objects === 0) return `no batch ${batchId} in bucket ${config.bucket}: nothing is stored under ${where}`;
  return (
    `batch ${batchId} has no manifest, so no item of it is recorded to retry: its run stopped before writing one. ` +
    `${where} holds ${objects} object(s) it left; run the request again as a new batch, and delete that folder if you do not need it`
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // One line: the usage is for --help, not for every mistake.
    process.stderr.write(`picsum-batch: ${messageOf(error)}\n`);
    process.exit(error instanceof RequestError ? EXIT_CODES.usage : EXIT_CODES.error);
  },
);
