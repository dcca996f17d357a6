import type { ServerResponse } from 'node:http';
import type { Execution } from '../../lambda/function/orchestration/engine.js';
import { localEngine } from '../../lambda/local/local-engine.js';
import { type SignedRequest, startSigV4Server } from './sigv4-server.js';

/** How the stand-in answers one call, unless a test says otherwise (a throttled burst, say). */
export type StatesAnswer = (request: SignedRequest, res: ServerResponse) => boolean;

const json = (res: ServerResponse, status: number, body: object, errorType?: string) =>
  res
    .writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    })
    .end(JSON.stringify(errorType ? { __type: errorType, message: (body as { message?: string }).message } : body));

const seconds = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso) / 1000);

/**
 * A Step Functions stand-in behind the SDK's endpoint override, checking SigV4: StartExecution and
 * DescribeExecution of one state machine, with Step Functions' rules for names, that runs each
 * execution on the machine's own definition (lambda/local/batch-definition.json), every task
 * calling `invokeStep` (the workflow function's handler). `refuse` may answer a call first.
 */
export async function startStepFunctions(options: {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  invokeStep: (payload: unknown) => Promise<unknown>;
  healDelaySeconds?: number;
}) {
  // Steps a test holds back until it says, or makes fail (a function that died), by kind.
  const held = new Map<string, { arrived: () => void; released: Promise<void> }>();
  const failing = new Set<string>();
  const invokeStep = async (payload: unknown) => {
    const kind = String((payload as { kind?: unknown }).kind);
    const hold = held.get(kind);
    if (hold) {
      hold.arrived();
      await hold.released;
    }
    if (failing.has(kind))
      throw Object.assign(new Error(`The ${kind} step's function died`), { name: 'Lambda.Unknown' });
    return options.invokeStep(payload);
  };
  const engine = localEngine({ invokeStep, healDelaySeconds: options.healDelaySeconds ?? 0, retryAtOnce: true });
  const starts: { name: string; input: unknown }[] = [];
  let refuse: StatesAnswer | undefined;
  const server = await startSigV4Server(
    'states',
    options.region,
    (request, res) => {
      if (refuse?.(request, res)) return;
      const target = String(request.headers['x-amz-target']);
      const body = JSON.parse(request.body || '{}') as Record<string, string>;
      if (target === 'AWSStepFunctions.StartExecution') {
        const name = body.name ?? '';
        const input = JSON.parse(body.input ?? '{}');
        starts.push({ name, input });
        engine.start(name, input).then(
          () => json(res, 200, { executionArn: `${body.stateMachineArn}:${name}`, startDate: Date.now() / 1000 }),
          (error: Error) => json(res, 400, { message: error.message }, 'ExecutionAlreadyExists'),
        );
        return;
      }
      if (target === 'AWSStepFunctions.DescribeExecution') {
        const arn = body.executionArn ?? '';
        const name = arn.split(':').at(-1) ?? '';
        void engine.describe(name).then((execution: Execution | undefined) => {
          if (!execution)
            return json(res, 400, { message: `Execution does not exist: '${arn}'` }, 'ExecutionDoesNotExist');
          const input = starts.find((start) => start.name === name)?.input;
          return json(res, 200, {
            executionArn: arn,
            name,
            status: execution.status,
            startDate: seconds(execution.startedAt),
            ...(execution.stoppedAt ? { stopDate: seconds(execution.stoppedAt) } : {}),
            input: JSON.stringify(input),
            ...(execution.error ? { error: execution.error } : {}),
            ...(execution.cause ? { cause: execution.cause } : {}),
          });
        });
        return;
      }
      json(res, 400, { message: `Not served here: ${target}` }, 'UnknownOperationException');
    },
    options.credentials,
  );
  return {
    url: server.url,
    seen: server.seen,
    /** Every StartExecution that arrived (refused ones excluded), with its input. */
    starts,
    /** The engine's own record of the executions, to wait for one to end. */
    engine,
    /**
     * Holds back every step of `kind` until `release()`; `reached` resolves when the first arrives.
     */
    hold(kind: string) {
      let arrived = () => {};
      let release = () => {};
      const reached = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = () => {
          held.delete(kind);
          resolve();
        };
      });
      held.set(kind, { arrived, released });
      return { reached, release };
    },
    /** Makes every step of these kinds fail, as a function that died would, until called again with none. */
    failSteps(...kinds: string[]) {
      failing.clear();
      for (const kind of kinds) failing.add(kind);
    },
    /** Answers calls with `answer` first while it returns true (a throttled burst); undefined stops it. */
    refuseWith(answer: StatesAnswer | undefined) {
      refuse = answer;
    },
    async close() {
      await engine.drain();
      await server.close();
    },
  };
}
