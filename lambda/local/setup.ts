import { join, relative } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import { request } from 'undici';
import type { answerStepEvent } from '../function/adapters/answer-step.js';
import { type BatchEvent, batchEvent } from '../function/adapters/batch-events.js';
import type { Invocation } from '../function/adapters/invocation.js';
import type { MetricsSink } from '../function/adapters/metrics.js';
import { type Config, loadConfig, PICSUM_URL } from '../function/contracts/config.js';
import type { BatchResult } from '../function/contracts/result.js';
import { createDeps } from '../function/handlers/deps.js';
import type { BatchJob } from '../function/orchestration/batch.js';
import { BatchService, type Ended } from '../function/orchestration/batch-service.js';
import { executionOf } from '../function/orchestration/engine.js';
import type { Deps } from '../function/pipeline/item-context.js';
import { type LocalEngine, localEngine, type RunCounts, stepContext } from './local-engine.js';

export const EMBEDDED_BUCKET = 'picsum-batch';
export const DATA_DIRECTORY = '.data/s3';

/** `picsum` (the real service), `offline` (the bundled server), or the URL of any compatible server. */
export type SourceChoice = 'picsum' | 'offline' | string | undefined;

export type LocalRuntime = {
  config: Config;
  deps: Deps;
  /** Batches as this process runs them: here up to what fits one request, beyond on the local engine. */
  batches: BatchService;
  /** The batch state machine, in this process. */
  engine: LocalEngine;
  /** What a function's handler is invoked with here: the batch service, a log and metrics (made on first use). */
  invocation(): Promise<Invocation>;
  /** Cancels every batch this process runs (each still writes its manifest) and waits for their ends. */
  stopBatches(): Promise<void>;
  /** Shows each batch's event, as it ends, to `show` (locally nothing goes to EventBridge). */
  showEvents(show: (event: BatchEvent) => void): void;
  /** Where the images end up, in words for a person. */
  storageNote: string;
  /** The embedded server's folder, when one runs. */
  dataDirectory: string | undefined;
  sourceNote: string;
  close(): Promise<void>;
};

/**
 * Why a source can't be used from here, or undefined when it answers: picsum.photos must answer
 * without a server error; any other source, with anything at all (a test server's faults are its own).
 */
async function unreachable(baseUrl: string, options: { anyAnswer?: boolean } = {}): Promise<string | undefined> {
  try {
    const response = await request(`${baseUrl}/id/0/8/8`, { method: 'HEAD', signal: AbortSignal.timeout(3_000) });
    await response.body.dump();
    return response.statusCode < 500 || options.anyAnswer ? undefined : `it answered HTTP ${response.statusCode}`;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code ?? (error as Error).name;
  }
}

/**
 * Chooses the image source into `env` (PICSUM_BASE_URL, and the offline server's redirect host when
 * it is started, its closer pushed onto `closers`): see startLocalRuntime.
 */
async function chooseSource(
  options: { source?: SourceChoice; picsumUrl?: string },
  env: NodeJS.ProcessEnv,
  configuredBucket: boolean,
  warn: (line: string) => void,
  closers: (() => Promise<void>)[],
): Promise<{ useOffline: boolean; sourceNote: string }> {
  const choice = options.source ?? (env.PICSUM_BASE_URL ? env.PICSUM_BASE_URL : undefined);
  let useOffline = choice === 'offline';
  if (choice === undefined || choice === 'picsum') {
    const why = await unreachable(options.picsumUrl ?? PICSUM_URL);
    if (why && choice === 'picsum') throw new Error(`picsum.photos can't be reached (${why})`);
    if (why && configuredBucket) {
      throw new Error(
        `picsum.photos can't be reached (${why}), and placeholders are never stored into a configured bucket unasked: pass --source offline to store the offline server's`,
      );
    }
    if (why) {
      warn(
        `picsum.photos can't be reached (${why}): storing placeholder images from the offline server instead (results and the manifest say source "offline").`,
      );
      useOffline = true;
    } else {
      env.PICSUM_BASE_URL = PICSUM_URL;
    }
  } else if (!useOffline) {
    // A source that does not answer is refused before anything is recorded, as picsum.photos is.
    const why = await unreachable(choice.replace(/\/+$/, ''), { anyAnswer: true });
    if (why) throw new Error(`${choice} can't be reached (${why})`);
    env.PICSUM_BASE_URL = choice;
  }
  if (useOffline) {
    // Loaded only when used: the offline server brings sharp (libvips), a large native library.
    const { startOfflinePicsum } = await import('../emulators/picsum/offline-picsum.js');
    const offline = await startOfflinePicsum();
    closers.push(() => offline.close());
    env.PICSUM_BASE_URL = offline.baseUrl;
    env.PICSUM_REDIRECT_HOSTS = offline.imageHost;
    return { useOffline, sourceNote: `the offline server at ${offline.baseUrl} (placeholders, not picsum.photos)` };
  }
  return { useOffline, sourceNote: env.PICSUM_BASE_URL ?? PICSUM_URL };
}

/**
 * Everything a local run needs: S3 (the environment's, or the embedded S3 keeping data under
 * .data/) and the image source (flag, then PICSUM_BASE_URL, then picsum.photos). When picsum.photos
 * can't be reached and nothing was asked for, a run into the embedded S3 falls back to the offline
 * server and says so through `warn`; a run into a configured bucket (BUCKET_NAME or S3_ENDPOINT)
 * stops instead, since placeholders there would pass for photos. Flags beat environment beats defaults.
 */
export async function startLocalRuntime(
  options: {
    source?: SourceChoice;
    warn?: (line: string) => void;
    env?: NodeJS.ProcessEnv;
    /** The embedded S3 server's folder (default: DATA_DIRECTORY under the working directory). */
    dataDirectory?: string;
    /** Where picsum.photos is asked whether it answers (tests point it at a closed port). */
    picsumUrl?: string;
    /** Only the bucket: no image source is chosen or started (listing batches, verifying one). */
    storageOnly?: boolean;
    /** Cancels the batches this process runs (Ctrl-C); stopBatches does too. */
    cancel?: AbortSignal;
    /** Shown each batch's event as it ends: locally nothing goes to EventBridge. */
    showEvent?: (event: BatchEvent) => void;
    /** The log and metrics of the workflow steps run here (default: warnings on stderr, no metrics). */
    log?: Logger;
    metrics?: MetricsSink;
  } = {},
): Promise<LocalRuntime> {
  const env = { ...(options.env ?? process.env) };
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const configuredBucket = Boolean(env.S3_ENDPOINT || env.BUCKET_NAME);
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  };
  try {
    const { useOffline, sourceNote } = options.storageOnly
      ? { useOffline: false, sourceNote: 'none' }
      : await chooseSource(options, env, configuredBucket, warn, closers);

    let storageNote: string;
    let dataDirectory: string | undefined;
    let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
    if (configuredBucket) {
      if (!env.BUCKET_NAME) throw new Error('BUCKET_NAME is not set (it is needed with S3_ENDPOINT)');
      // An environment handed in (a test's) carries its own keys; the process's are the SDK's to find.
      if (options.env && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
        credentials = {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        };
      }
      storageNote = `s3://${env.BUCKET_NAME}${env.S3_ENDPOINT ? ` at ${env.S3_ENDPOINT}` : ''}`;
    } else {
      dataDirectory = options.dataDirectory ?? join(process.cwd(), DATA_DIRECTORY);
      // Loaded only when used, like the offline server. It makes keys of its own that only this
      // process holds, so no other process on the machine can sign for it.
      const { startEmbeddedS3 } = await import('../emulators/s3/embedded-s3.js');
      const embedded = await startEmbeddedS3({ directory: dataDirectory, bucket: EMBEDDED_BUCKET });
      closers.push(() => embedded.close());
      env.S3_ENDPOINT = embedded.endpoint;
      env.BUCKET_NAME = EMBEDDED_BUCKET;
      credentials = embedded.credentials;
      storageNote = `embedded S3 server, files under ${relative(process.cwd(), dataDirectory)}/${EMBEDDED_BUCKET}/`;
    }

    const config = loadConfig(env, { requireBucket: true, offlineSource: useOffline });
    const deps = createDeps(
      config,
      { error: (message: string, ...extra: unknown[]) => console.error(message, ...extra) },
      credentials ? { credentials } : {},
    );
    closers.push(deps.close);
    const app = composeLocal(config, deps, options);
    closers.push(app.stopBatches);
    return {
      config,
      deps,
      ...app,
      storageNote,
      dataDirectory,
      sourceNote,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** What the local app is made of, besides its storage and source: see composeLocal. */
export type LocalApp = Pick<LocalRuntime, 'batches' | 'engine' | 'invocation' | 'stopBatches' | 'showEvents'>;

/**
 * The local app on `config` and `deps`: the batch service, with the batch state machine in this
 * process as its engine, whose steps are invoked with this service, a log and metrics.
 */
export function composeLocal(
  config: Config,
  deps: Deps,
  options: {
    cancel?: AbortSignal;
    showEvent?: (event: BatchEvent) => void;
    log?: Logger;
    metrics?: MetricsSink;
  } = {},
): LocalApp {
  const stopping = new AbortController();
  const cancel = options.cancel ? AbortSignal.any([options.cancel, stopping.signal]) : stopping.signal;
  // The workflow steps' handler and its Powertools log load with the first step: a batch answered
  // here (and `--list`) never pays for them.
  let workflow: Promise<{ invocation: Invocation; answer: typeof answerStepEvent }> | undefined;
  const steps = () => {
    workflow ??= (async () => {
      const [{ Logger }, { answerStepEvent: answer }] = await Promise.all([
        import('@aws-lambda-powertools/logger'),
        import('../function/adapters/answer-step.js'),
      ]);
      const invocation: Invocation = {
        batches,
        // Powertools writes warnings and errors to stderr: stdout stays the command's own.
        log: options.log ?? new Logger({ serviceName: 'picsum-batch', logLevel: 'WARN' }),
        metrics: options.metrics ?? QUIET_METRICS,
      };
      return { invocation, answer };
    })();
    return workflow;
  };
  const engine = localEngine({
    invokeStep: async (payload, step) => {
      const { invocation, answer } = await steps();
      return answer(payload, stepContext(), invocation, step);
    },
    cancel,
    healDelaySeconds: config.healDelaySeconds,
  });
  // Deployed, each batch puts an event on EventBridge as it ends; here whoever asks is shown it.
  let showEvent = options.showEvent;
  const announce = async (ended: Ended) => showEvent?.(batchEvent(ended, config));
  const batches = new BatchService(config, deps, engine, announce);
  const stopBatches = async () => {
    stopping.abort();
    await engine.drain();
  };
  const showEvents = (show: (event: BatchEvent) => void) => {
    showEvent = show;
  };
  const invocation = async () => (await steps()).invocation;
  return { batches, engine, invocation, stopBatches, showEvents };
}

/** Metrics go nowhere locally unless a command asks for them (invoke:local prints them). */
const QUIET_METRICS: MetricsSink = {
  addMetric: () => {},
  publishStoredMetrics: () => {},
  singleMetric: () => ({ addDimension: () => {}, addMetric: () => {} }),
};

/**
 * Runs `job` on the local engine to its end, as its execution, telling `onProgress` its counts:
 * the batch's result from its manifest, or an Error with the execution's own error when it failed.
 */
export async function runOnEngine(
  runtime: Pick<LocalRuntime, 'engine' | 'batches'>,
  job: BatchJob,
  onProgress?: (counts: RunCounts) => void,
): Promise<BatchResult> {
  const name = executionOf(job);
  await runtime.engine.start(name, job);
  if (onProgress) runtime.engine.watch(name, onProgress);
  const end = await runtime.engine.finished(name);
  const status = await runtime.batches.status(job.batchId);
  if (status?.status === 'done' || status?.status === 'cancelled') return status.result;
  throw new Error(
    `Batch ${job.batchId} ended ${end.status}${end.error ? ` (${end.error}${end.cause ? `: ${end.cause.slice(0, 300)}` : ''})` : ''} without a manifest`,
  );
}
