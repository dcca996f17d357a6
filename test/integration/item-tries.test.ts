import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../lambda/function/contracts/request.js';
import type { ItemOutcome } from '../../lambda/function/contracts/result.js';
import { type ErrorLog, RunStopped } from '../../lambda/function/pipeline/item-context.js';
import { indexRange, runItems } from '../../lambda/function/pipeline/run-items.js';
import type { S3Sender } from '../../lambda/function/storage/s3-client.js';
import { configFor, hostileSources, jpegOf } from '../support/hostile-source.js';

/**
 * One item's tries: what counts as an attempt, which failures are retried and how long it waits,
 * how a stopped run ends it. The source is a server on loopback; S3 is a sender that answers as
 * each test scripts it (signing and serialization are proven against s3rver elsewhere).
 */
const sources = hostileSources();

type Answer = (req: IncomingMessage, res: ServerResponse, n: number) => void;

const image: Answer = (_req, res) => {
  const body = jpegOf(64);
  res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length, 'picsum-id': '7' });
  res.end(body);
};

/** An error as the SDK throws S3's answers. */
const s3Answer = (name: string, status: number, message = `${name} said no`) =>
  Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });

type Options = {
  answer?: Answer;
  /** Each PutObject in turn (with the call's abort signal): an error to throw, or undefined to store. */
  puts?: (n: number, signal?: AbortSignal) => unknown;
  env?: Record<string, string>;
  deadlineMs?: number;
  cancel?: AbortSignal;
  log?: ErrorLog;
  count?: number;
  concurrency?: number;
};

async function runOne(options: Options = {}): Promise<{ item: ItemOutcome; items: ItemOutcome[]; puts: number }> {
  const source = await sources.start(options.answer ?? image);
  const config = configFor(source, options.env);
  const pool = sources.pool(config);
  let puts = 0;
  const send = async (_command: unknown, sendOptions?: { abortSignal?: AbortSignal }) => {
    const answer = await options.puts?.(++puts, sendOptions?.abortSignal);
    if (answer) throw answer;
    return {} as never;
  };
  const run = await runItems(
    parseRequest({ count: options.count ?? 1, concurrency: options.concurrency ?? 1, width: 8, seed: 't' }, config),
    indexRange(0, options.count ?? 1),
    {
      config,
      deps: {
        s3: { send: send as S3Sender['send'] },
        transfer: { send: send as S3Sender['send'] },
        source: pool,
        log: options.log,
      },
      batchId: 'b',
      deadlineAt: Date.now() + (options.deadlineMs ?? 10_000),
      cancel: options.cancel,
    },
  );
  return { item: run.items[0] as ItemOutcome, items: run.items, puts };
}

describe('the upload stage', () => {
  it('retries a transient S3 failure, counting the retry as the item’s second attempt', async () => {
    const { item, puts } = await runOne({ puts: (n) => (n === 1 ? s3Answer('SlowDown', 503) : undefined) });

    expect(item).toMatchObject({ ok: true, attempts: 2 });
    expect(puts).toBe(2);
    expect(sources.requests).toHaveLength(1);
  });

  it('fails a refusal as store_failed at once, naming S3’s code, and logs nothing', async () => {
    const logged: unknown[] = [];
    const { item, puts } = await runOne({
      puts: () => s3Answer('AccessDenied', 403),
      log: { error: (...line) => logged.push(line) },
    });

    expect(item).toMatchObject({ ok: false, reason: 'store_failed', attempts: 1 });
    expect(item.ok === false && item.message).toMatch(/AccessDenied/);
    expect(puts).toBe(1);
    expect(logged).toEqual([]);
  });

  it('gives up on S3 after MAX_ATTEMPTS, saying so', async () => {
    const { item, puts } = await runOne({ puts: () => s3Answer('InternalError', 500), env: { MAX_ATTEMPTS: '3' } });

    expect(item).toMatchObject({ ok: false, reason: 'store_failed', attempts: 3 });
    expect(item.ok === false && item.message).toBe(
      'S3 PutObject failed: InternalError (HTTP 500): InternalError said no (after 3 attempts)',
    );
    expect(puts).toBe(3);
  });

  it('reports an unexpected error without a log to write to', async () => {
    const { item } = await runOne({ puts: () => new RangeError('bug') });

    expect(item).toMatchObject({ ok: false, reason: 'internal', message: 'Unexpected error: bug', attempts: 1 });
  });
});

describe('failure messages', () => {
  // 'Unexpected error: ' is 18 characters.
  it('keeps a message of MAX_MESSAGE_LENGTH (300) whole', async () => {
    const { item } = await runOne({ puts: () => new Error('x'.repeat(282)) });

    expect(item.ok === false && item.message).toBe(`Unexpected error: ${'x'.repeat(282)}`);
  });

  it('cuts a longer one to 300 characters, ending in ...', async () => {
    const { item } = await runOne({ puts: () => new Error('y'.repeat(283)) });

    expect(item.ok === false && item.message).toBe(`Unexpected error: ${'y'.repeat(279)}...`);
  });
});

describe('waiting to retry', () => {
  it('waits the Retry-After the source asked for, when it is exactly MAX_RETRY_AFTER_MS', async () => {
    const { item } = await runOne({
      answer: (req, res, n) => (n === 1 ? void res.writeHead(429, { 'retry-after': '1' }).end() : image(req, res, n)),
      env: { MAX_RETRY_AFTER_MS: '1000' },
    });

    expect(item).toMatchObject({ ok: true, attempts: 2 });
    // A lower bound on the wait, not a timing budget: the second request came no sooner than asked.
    expect(item.ok && item.latencyMs).toBeGreaterThanOrEqual(990);
  });

  it('schedules no backoff that would end past the deadline, when no Retry-After set it', async () => {
    const { item } = await runOne({
      answer: (_req, res) => void res.writeHead(503).end(),
      env: { RETRY_BASE_MS: '60000', RETRY_MAX_MS: '60000', MAX_ATTEMPTS: '5' },
      deadlineMs: 5_000,
    });

    expect(item).toMatchObject({ ok: false, reason: 'source_status', attempts: 1 });
    expect(item.ok === false && item.message).toMatch(/no time left before the deadline to retry$/);
  });
});

describe('a stopped run', () => {
  const hang: Answer = () => {};

  it('ends an item whose download is in flight as cancelled, at once', async () => {
    const cancel = new AbortController();
    const { item } = await runOne({
      answer: (req, res, n) => {
        hang(req, res, n);
        cancel.abort();
      },
      // Without the cancel reaching the request, the item would wait out these.
      env: { SOURCE_HEADERS_TIMEOUT_MS: '60000', SOURCE_ATTEMPT_TIMEOUT_MS: '60000' },
      cancel: cancel.signal,
    });

    expect(item).toEqual({
      index: 0,
      ok: false,
      reason: 'cancelled',
      message: 'The run was cancelled before this item was stored',
      attempts: 1,
      latencyMs: expect.any(Number),
      startMs: expect.any(Number),
    });
  });

  it('ends an item at the deadline as timeout, mid-write: a body already whole is written until then, no longer', async () => {
    // S3 never answers: only the deadline's abort ends the write.
    const neverAnswers = (_n: number, signal?: AbortSignal) =>
      new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));

    const { item, puts } = await runOne({ puts: neverAnswers, deadlineMs: 300 });

    expect(puts).toBe(1);
    expect(item).toMatchObject({ ok: false, reason: 'timeout', attempts: 1 });
  });

  it('ends an item at the deadline as timeout, mid-download', async () => {
    const { item } = await runOne({ answer: hang, deadlineMs: 300, env: { SOURCE_HEADERS_TIMEOUT_MS: '60000' } });

    expect(item).toMatchObject({
      reason: 'timeout',
      message: 'The batch deadline came before this item finished',
      attempts: 1,
    });
  });

  it('ends a cancelled item waiting to retry as cancelled, without trying again', async () => {
    const cancel = new AbortController();
    const { item } = await runOne({
      answer: (_req, res) => {
        res.writeHead(503).end();
        // Long enough for the 503 to arrive and the 4 s wait to begin.
        setTimeout(() => cancel.abort(), 300);
      },
      env: { RETRY_BASE_MS: '4000', RETRY_MAX_MS: '4000', MAX_ATTEMPTS: '3' },
      cancel: cancel.signal,
    });

    expect(item).toMatchObject({ reason: 'cancelled', attempts: 1 });
    expect(sources.requests).toHaveLength(1);
  });

  it('gives a download one SOURCE_ATTEMPT_TIMEOUT_MS per attempt, then retries it', async () => {
    const { item } = await runOne({
      answer: hang,
      env: { SOURCE_ATTEMPT_TIMEOUT_MS: '200', SOURCE_HEADERS_TIMEOUT_MS: '60000', MAX_ATTEMPTS: '2' },
    });

    expect(item).toMatchObject({ ok: false, reason: 'source_timeout', attempts: 2 });
    expect(item.ok === false && item.message).toBe(
      'The download took over SOURCE_ATTEMPT_TIMEOUT_MS (200 ms) (after 2 attempts)',
    );
    expect(sources.requests).toHaveLength(2);
  });

  it('ends an item whose upload waits to retry as cancelled, without writing again', async () => {
    const cancel = new AbortController();
    const { item, puts } = await runOne({
      puts: (n) => {
        // Long enough for the failure to come back and the 4 s wait to begin.
        setTimeout(() => cancel.abort(), 300);
        return n === 1 ? s3Answer('SlowDown', 503) : undefined;
      },
      env: { RETRY_BASE_MS: '4000', RETRY_MAX_MS: '4000' },
      cancel: cancel.signal,
    });

    expect(item).toMatchObject({ ok: false, reason: 'cancelled', attempts: 1 });
    expect(puts).toBe(1);
  });

  it('ends an item waiting for an upload slot as cancelled, and lets its body go', async () => {
    const cancel = new AbortController();
    const { items } = await runOne({
      count: 2,
      answer: (req, res, n) => {
        image(req, res, n);
        // Item 1 now waits for the slot item 0's upload holds: cancel it there.
        if (n === 2) setTimeout(() => cancel.abort(), 200);
      },
      // Item 0's PutObject answers only once the run is cancelled (a whole body is still written).
      puts: (n) =>
        n === 1
          ? new Promise((resolve) => cancel.signal.addEventListener('abort', () => resolve(undefined)))
          : undefined,
      cancel: cancel.signal,
    });

    expect(items).toMatchObject([
      { index: 0, ok: true },
      { index: 1, ok: false, reason: 'cancelled' },
    ]);
  });

  it('fails every cut body and gives each upload slot back, one item after another', async () => {
    const { items } = await runOne({
      count: 3,
      answer: (_req, res) => {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 64 });
        res.write(jpegOf(32), () => res.socket?.destroy());
      },
      env: { MAX_ATTEMPTS: '1' },
    });

    expect(items.map((item) => item.ok === false && item.reason)).toEqual([
      'source_network',
      'source_network',
      'source_network',
    ]);
  });

  it('names why it stopped', () => {
    expect(new RunStopped('timeout')).toMatchObject({
      name: 'RunStopped',
      message: 'batch deadline',
      reason: 'timeout',
    });
    expect(new RunStopped('cancelled')).toMatchObject({ message: 'batch cancelled', reason: 'cancelled' });
  });
});

describe('the timeline', () => {
  it('records when a stored item started, had its body and was written, in order', async () => {
    const { item } = await runOne();

    expect(item).toMatchObject({ ok: true, startMs: expect.any(Number), downloadedMs: expect.any(Number) });
    const { startMs = -1, downloadedMs = -1, storedMs = -1 } = item;
    expect(startMs).toBeGreaterThanOrEqual(0);
    expect(downloadedMs).toBeGreaterThanOrEqual(startMs);
    expect(storedMs).toBeGreaterThanOrEqual(downloadedMs);
    expect(item.retries).toBeUndefined();
  });

  it('marks the download done before a slow write, not when the write ends', async () => {
    const { item } = await runOne({ puts: () => new Promise((resolve) => setTimeout(() => resolve(undefined), 100)) });

    expect((item.storedMs ?? 0) - (item.downloadedMs ?? 0)).toBeGreaterThanOrEqual(90);
  });

  it('lists each retried attempt with its reason and its wait', async () => {
    const { item } = await runOne({
      answer: (req, res, n) => (n === 1 ? void res.writeHead(503).end() : image(req, res, n)),
      puts: (n) => (n === 1 ? s3Answer('SlowDown', 503) : undefined),
      env: { RETRY_BASE_MS: '40', RETRY_MAX_MS: '40' },
    });

    expect(item).toMatchObject({ ok: true, attempts: 3 });
    expect(item.retries).toEqual([
      { reason: 'source_status', waitMs: expect.any(Number) },
      { reason: 'store_failed', waitMs: expect.any(Number) },
    ]);
    // Equal jitter: half the base fixed, half random.
    for (const retry of item.retries ?? []) expect(retry.waitMs).toBeGreaterThanOrEqual(20);
  });

  it('has no start for an item that never started, and no write for one that failed', async () => {
    const never = await runOne({ cancel: AbortSignal.abort() });
    const failed = await runOne({ answer: (_req, res) => void res.writeHead(404).end() });

    expect(never.item).toMatchObject({ reason: 'cancelled', attempts: 0 });
    expect(never.item.startMs).toBeUndefined();
    expect(failed.item).toMatchObject({ reason: 'source_status', startMs: expect.any(Number) });
    expect(failed.item.downloadedMs).toBeUndefined();
    expect(failed.item.storedMs).toBeUndefined();
  });
});
