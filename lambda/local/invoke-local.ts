import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { answerRunEvent } from '../function/adapters/answer-run.js';
import { answerStepEvent } from '../function/adapters/answer-step.js';
import type { BatchEvent } from '../function/adapters/batch-events.js';
import { parseApiEvent } from '../function/adapters/entry-events.js';
import { handleApiEvent } from '../function/adapters/http-api/router.js';
import { begin, type Invocation } from '../function/adapters/invocation.js';
import { recordBatch } from '../function/adapters/metrics.js';
import { messageOf, RequestError } from '../function/contracts/errors.js';
import { STEP_KINDS } from '../function/orchestration/chunked/index.js';
import { BackgroundJobs } from './background-jobs.js';
import { EXIT_CODES } from './exit-codes.js';
import { localBatches } from './local-launcher.js';
import { startLocalRuntime } from './setup.js';

export const INVOKE_LOCAL_USAGE = `Usage: npm run invoke:local -- --event FILE [options]

  --event FILE         the event, as JSON: a file, or - for standard input
                       (samples: lambda/local/sample-events/)
  --function F         the function it is sent to: api, runs or workflow
                       (default: the one whose events it looks like)
  --source S           picsum, offline, or the URL of a picsum-compatible server (as npm start)
  --timeout-s N        the invocation's time limit, as the function's timeout (default 900)
  --help               this text

That function's handler runs here on the event, against the embedded S3 (or BUCKET_NAME and
S3_ENDPOINT when set), and its answer is printed on stdout; logs at WARN and above go to stderr
(POWERTOOLS_LOG_LEVEL=INFO for all of them, on stdout as in Lambda). A batch the answer accepts
runs here before the command exits.`;

/** A Lambda context for one local invocation: its name, its request id, and its clock. */
function localContext(timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'picsum-batch-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:picsum-batch-local',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/picsum-batch-local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** The event: a file's JSON, or standard input's with `-`; a RequestError naming `--event` otherwise. */
async function readEvent(path: string): Promise<unknown> {
  let raw: string;
  try {
    raw = path === '-' ? await text(process.stdin) : await readFile(path, 'utf8');
  } catch (error) {
    throw new RequestError(`Cannot read --event ${path}: ${messageOf(error)}`, { field: 'event' });
  }
  try {
    return JSON.parse(raw);
  } catch {
    throw new RequestError(`--event ${path} is not JSON`, { field: 'event' });
  }
}

const FUNCTIONS = ['api', 'runs', 'workflow'] as const;
type FunctionName = (typeof FUNCTIONS)[number];

/** The function an event looks meant for: a proxy event's the API's, a step's the workflow's, anything else the runs function's. */
function functionFor(event: unknown): FunctionName {
  const loose = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  if ('httpMethod' in loose) return 'api';
  return (STEP_KINDS as readonly unknown[]).includes(loose.kind) ? 'workflow' : 'runs';
}

/** Answers `event` as the deployed function `name` would (handlers/), with this process's batch service. */
async function answerAs(name: FunctionName, event: unknown, context: Context, app: Invocation): Promise<unknown> {
  switch (name) {
    case 'api':
      return handleApiEvent(
        begin(app, context, () => parseApiEvent(event)),
        {
          batches: app.batches,
          remainingMs: context.getRemainingTimeInMillis(),
          log: app.log,
          onResult: (result) => recordBatch(app.metrics, result),
        },
      );
    case 'runs':
      return answerRunEvent(event, context, app);
    case 'workflow':
      return answerStepEvent(event, context, app);
  }
}

/**
 * `npm run invoke:local -- --event FILE`: one of the functions' own handlers (as handlers/ wires
 * them) on a saved event, as `sam local invoke -e` would run it, with its answer printed.
 */
export async function invokeLocal(
  argv: string[],
  print: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const { values } = (() => {
    try {
      return parseArgs({
        args: argv,
        strict: true,
        options: {
          event: { type: 'string' },
          function: { type: 'string' },
          source: { type: 'string' },
          'timeout-s': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (error) {
      throw new RequestError(`${messageOf(error)}; npm run invoke:local -- --help lists the options`);
    }
  })();
  if (values.help) {
    print(INVOKE_LOCAL_USAGE);
    return EXIT_CODES.stored;
  }
  if (values.event === undefined) throw new RequestError('Expected --event FILE (or - for standard input)');
  const timeoutS = values['timeout-s'] === undefined ? 900 : Number(values['timeout-s']);
  if (!Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > 900) {
    throw new RequestError(`Expected --timeout-s to be an integer from 1 to 900, got ${values['timeout-s']}`);
  }
  const chosen = values.function;
  if (chosen !== undefined && !(FUNCTIONS as readonly string[]).includes(chosen)) {
    throw new RequestError(
      `Expected --function to be api, runs or workflow, got ${JSON.stringify(chosen.slice(0, 40))}`,
    );
  }
  const event = await readEvent(values.event);
  const name = (chosen as FunctionName | undefined) ?? functionFor(event);
  const runtime = await startLocalRuntime(values.source === undefined ? { env } : { env, source: values.source });
  const background = new BackgroundJobs({ running: 1, waiting: 100 });
  const stop = new AbortController();
  // Powertools reads POWERTOOLS_LOG_LEVEL itself; without it, only warnings and errors (on stderr).
  const log = new Logger({ serviceName: 'picsum-batch', ...(env.POWERTOOLS_LOG_LEVEL ? {} : { logLevel: 'WARN' }) });
  // Metrics go to CloudWatch as log lines in Lambda; here they are a line each on stderr.
  const printMetric = (dimension: string) => (name: string, unit: string, value: number) =>
    process.stderr.write(`metric ${name} ${value} ${unit}${dimension}\n`);
  const metrics = {
    addMetric: printMetric(''),
    publishStoredMetrics: () => {},
    singleMetric: () => {
      let dimension = '';
      return {
        addDimension: (name: string, value: string) => {
          dimension += ` ${name}=${value}`;
        },
        addMetric: (name: string, unit: string, value: number) => printMetric(dimension)(name, unit, value),
      };
    },
  };
  try {
    let answer: unknown;
    try {
      // The batch event it would put on EventBridge, as a line on stderr like the metrics.
      const showEvent = (event: BatchEvent) =>
        process.stderr.write(`event ${event.detailType} ${JSON.stringify(event.detail)}\n`);
      const batches = localBatches(runtime, { background, cancel: stop.signal, log, showEvent });
      answer = await answerAs(name, event, localContext(timeoutS * 1000), { batches, log, metrics });
    } catch (error) {
      // What Lambda answers for a handler that throws (an event it does not recognise, or whose
      // contents do not check out): the error's type and message.
      print(
        JSON.stringify({ errorType: error instanceof Error ? error.name : 'Error', errorMessage: messageOf(error) }),
      );
      return EXIT_CODES.error;
    }
    print(JSON.stringify(answer));
    // What the answer accepted runs before the process ends, as it would in its own invocation.
    await background.drain();
    return EXIT_CODES.stored;
  } finally {
    stop.abort();
    await background.drain();
    await runtime.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  invokeLocal(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`picsum-batch invoke:local: ${messageOf(error)}\n`);
      process.exit(error instanceof RequestError ? EXIT_CODES.usage : EXIT_CODES.error);
    },
  );
}
