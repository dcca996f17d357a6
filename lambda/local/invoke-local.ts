import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { answerApiEvent } from '../function/adapters/answer-api.js';
import { answerStepEvent } from '../function/adapters/answer-step.js';
import type { BatchEvent } from '../function/adapters/batch-events.js';
import type { Invocation } from '../function/adapters/invocation.js';
import { messageOf, RequestError } from '../function/contracts/errors.js';
import { EXIT_CODES } from './exit-codes.js';
import { lambdaContext } from './lambda-context.js';
import type { LocalEngine } from './local-engine.js';
import { startLocalRuntime } from './setup.js';

export const INVOKE_LOCAL_USAGE = `Usage: npm run invoke:local -- --event FILE [options]

  --event FILE         the event, as JSON: a file, or - for standard input
                       (samples: lambda/local/sample-events/)
  --function F         the function it is sent to: api or workflow
                       (default: the one whose events it looks like)
  --source S           picsum, offline, or the URL of a picsum-compatible server (as npm start)
  --timeout-s N        the invocation's time limit, as the function's timeout (default 900)
  --help               this text

That function's handler runs here on the event, against the embedded S3 (or BUCKET_NAME and
S3_ENDPOINT when set), and its answer is printed on stdout; logs at WARN and above go to stderr
(POWERTOOLS_LOG_LEVEL=INFO for all of them, on stdout as in Lambda). A batch the answer starts
runs here, on the batch state machine's own definition, before the command exits; so does the
schedule's payload ({"kind":"picsum-batch.run",...}), which starts the state machine as Scheduler does.`;

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

const FUNCTIONS = ['api', 'workflow', 'machine'] as const;
type FunctionName = (typeof FUNCTIONS)[number];

/**
 * Where an event looks meant to go: a proxy event to the API function, the schedule's run envelope
 * to the state machine (as Scheduler starts it), a step to the workflow function.
 */
function functionFor(event: unknown): FunctionName {
  const loose = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  if ('httpMethod' in loose) return 'api';
  // Anything else goes to the workflow function, whose refusal names what arrived.
  return loose.kind === 'picsum-batch.run' ? 'machine' : 'workflow';
}

/** Answers `event` as the deployed function `name` would (handlers/), with this process's batch service. */
async function answerAs(
  name: FunctionName,
  event: unknown,
  context: Context,
  app: Invocation & { engine?: LocalEngine },
): Promise<unknown> {
  switch (name) {
    case 'api':
      return answerApiEvent(event, context, app);
    case 'workflow':
      return answerStepEvent(event, context, app);
    case 'machine':
      return startMachine(event, app);
  }
}

/**
 * Starts the batch state machine with `event` as its input, as Scheduler does: an execution of a
 * name of its own, which checks the envelope (Admit) and starts the batch's execution, named after
 * the batch. Resolves once that ran, with the batch's status as GET would answer it.
 */
async function startMachine(event: unknown, app: Invocation & { engine?: LocalEngine }) {
  const { engine } = app;
  if (!engine) throw new Error('No local engine to start');
  const name = `run-${randomUUID()}`;
  const before = new Set(engine.names());
  await engine.startWith(name, event);
  const envelope = await engine.finished(name);
  if (envelope.status !== 'SUCCEEDED') {
    throw new RequestError(
      `The state machine refused the event: ${envelope.error ?? envelope.status}: ${envelope.cause ?? ''}`,
    );
  }
  // The batch's own execution, which the envelope's started (none when a delivery found it started).
  const batchId = engine.names().find((each) => !before.has(each) && each !== name);
  if (batchId === undefined) return { execution: name, started: 'nothing: the batch had started already' };
  await engine.finished(batchId);
  return app.batches.status(batchId);
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
      `Expected --function to be api, workflow or machine, got ${JSON.stringify(chosen.slice(0, 40))}`,
    );
  }
  const event = await readEvent(values.event);
  const name = (chosen as FunctionName | undefined) ?? functionFor(event);
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
  // The batch event it would put on EventBridge, as a line on stderr like the metrics.
  const showEvent = (event: BatchEvent) =>
    process.stderr.write(`event ${event.detailType} ${JSON.stringify(event.detail)}\n`);
  const runtime = await startLocalRuntime({
    env,
    ...(values.source === undefined ? {} : { source: values.source }),
    log,
    metrics,
    showEvent,
  });
  try {
    let answer: unknown;
    try {
      answer = await answerAs(name, event, lambdaContext('picsum-batch-local', timeoutS * 1000), {
        ...(await runtime.invocation()),
        engine: runtime.engine,
      });
    } catch (error) {
      // What Lambda answers for a handler that throws (an event it does not recognise, or whose
      // contents do not check out): the error's type and message.
      print(
        JSON.stringify({ errorType: error instanceof Error ? error.name : 'Error', errorMessage: messageOf(error) }),
      );
      return EXIT_CODES.error;
    }
    print(JSON.stringify(answer));
    // What the answer started runs before the process ends, as it would on the state machine.
    await runtime.engine.drain();
    return EXIT_CODES.stored;
  } finally {
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
