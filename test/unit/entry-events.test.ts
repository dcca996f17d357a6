import { describe, expect, it, vi } from 'vitest';
import {
  API_ANSWERS,
  parseApiEvent,
  parseStepEvent,
  WORKFLOW_ANSWERS,
} from '../../lambda/function/adapters/entry-events.js';
import { describeEvent, UnrecognizedEventError } from '../../lambda/function/adapters/event-refusal.js';
import { loadConfig, MAX_CHUNKS } from '../../lambda/function/contracts/config.js';

const config = loadConfig({});
const request = { count: 1 };
const job = { batchId: 'b', request };
const chunk = { chunk: 0, start: 0, end: 1 };
const startedAt = '2026-11-25T00:00:00.000Z';

describe('each entry recognises its own events, and only those', () => {
  it.each([
    ['an API Gateway proxy event', { httpMethod: 'GET', path: '/batches/b', headers: {} }],
    ['a proxy event without headers', { httpMethod: 'POST', path: '/batches', headers: null }],
  ])('the API: %s', (_name, event) => {
    expect(parseApiEvent(event)).toBe(event);
  });

  it.each([
    ['a run envelope', { kind: 'picsum-batch.run', request: { count: 2 } }, 'picsum-batch.run'],
    ['a run envelope without a request', { kind: 'picsum-batch.run' }, 'picsum-batch.run'],
  ])("the workflow function, admitting the schedule's payload: %s", (_name, event, kind) => {
    expect(parseStepEvent(event, config).kind).toBe(kind);
  });

  it.each([
    ['a plan step', { kind: 'picsum-batch.plan', job, execution: 'b' }],
    ['a chunk step', { kind: 'picsum-batch.chunk', task: { ...job, concurrency: 1, startedAt, chunk } }],
    [
      'an aggregate step',
      {
        kind: 'picsum-batch.aggregate',
        plan: { ...job, concurrency: 1, parallelChunks: 1, startedAt, chunks: [chunk] },
      },
    ],
    ['a failure record', { kind: 'picsum-batch.failed', batchId: 'b', requested: 1, failure: {} }],
    ['a heal', { kind: 'picsum-batch.heal', batchId: 'b' }],
  ])('the workflow function: %s', (_name, event) => {
    expect(parseStepEvent(event, config).kind).toBe(event.kind);
  });

  it("parses a run envelope's request by the API's rules, and its schedule name and time together", () => {
    const run = parseStepEvent(
      { kind: 'picsum-batch.run', request: { count: 2 }, scheduleName: 's', scheduledTime: '2026-11-25T00:00:00Z' },
      config,
    );
    expect(run).toMatchObject({
      request: { count: 2, width: 600 },
      schedule: { name: 's', time: Date.parse(startedAt) },
    });
    expect(() => parseStepEvent({ kind: 'picsum-batch.run', scheduleName: 's' }, config)).toThrow(
      /`event.scheduleName` \(a name\) and `event.scheduledTime` \(a UTC time as Scheduler sends it, 2000 to a day from now\) together/,
    );
    expect(() =>
      parseStepEvent({ kind: 'picsum-batch.run', scheduleName: '--', scheduledTime: startedAt }, config),
    ).toThrow(/together/);
    expect(() => parseStepEvent({ kind: 'picsum-batch.run', request: { count: 0 } }, config)).toThrow(/`count`/);
  });

  const everyKind = [
    { httpMethod: 'GET', path: '/', headers: {} },
    { kind: 'picsum-batch.job', job },
    { kind: 'picsum-batch.run', request },
    { kind: 'picsum-batch.plan', job, execution: 'b' },
    { kind: 'picsum-batch.heal', batchId: 'b' },
  ];

  it('refuses, as unrecognised, every event of another entry', () => {
    const [api, runJob, runEnvelope, plan, heal] = everyKind;
    for (const event of [runJob, runEnvelope, plan, heal]) {
      expect(() => parseApiEvent(event)).toThrow(UnrecognizedEventError);
    }
    for (const event of [api, runJob]) expect(() => parseStepEvent(event, config)).toThrow(UnrecognizedEventError);
    for (const event of [runEnvelope, plan, heal]) expect(() => parseStepEvent(event, config)).not.toThrow();
  });

  it.each([
    ['null', null],
    ['a string', 'go'],
    ['an array', [job]],
    ['an empty object', {}],
    ['a bare request', { count: 3 }],
    ['an unknown kind', { kind: 'picsum-batch.other' }],
    ['a proxy event without a path', { httpMethod: 'GET', headers: {} }],
    ['a proxy event with a numeric method', { httpMethod: 1, path: '/', headers: {} }],
    ['a proxy event with string headers', { httpMethod: 'GET', path: '/', headers: 'x' }],
    ['a proxy event with no headers key', { httpMethod: 'GET', path: '/' }],
  ])('refuses %s everywhere, as unrecognised', (_name, event) => {
    expect(() => parseApiEvent(event)).toThrow(UnrecognizedEventError);
    expect(() => parseStepEvent(event, config)).toThrow(UnrecognizedEventError);
  });

  it.each([
    ['a plan without its job', { kind: 'picsum-batch.plan', task: job, execution: 'b' }, /`event.job`/],
    [
      'a plan whose request is not an object',
      { kind: 'picsum-batch.plan', job: { batchId: 'b', request: 3 }, execution: 'b' },
      /`event.job.request`/,
    ],
    [
      'a plan without a batch id',
      { kind: 'picsum-batch.plan', job: { request: {} }, execution: 'b' },
      /`event.job.batchId`/,
    ],
    ['a plan without its execution', { kind: 'picsum-batch.plan', job }, /`event.execution`/],
    [
      'a plan whose execution is not a name',
      { kind: 'picsum-batch.plan', job, execution: 'a:b' },
      /`event.execution` is not valid \(got "a:b"\)/,
    ],
    [
      'a chunk without its chunk',
      { kind: 'picsum-batch.chunk', task: { ...job, concurrency: 1, startedAt } },
      /`event.task.chunk`/,
    ],
    ['a chunk with no task', { kind: 'picsum-batch.chunk', job }, /`event.task`/],
    ['an aggregate without chunks', { kind: 'picsum-batch.aggregate', plan: job }, /`event.plan.concurrency`/],
    [
      'a failure record without its failure',
      { kind: 'picsum-batch.failed', batchId: 'b', requested: 1 },
      /`event.failure`/,
    ],
    [
      'a failure record without a batch id',
      { kind: 'picsum-batch.failed', requested: 1, failure: {} },
      /`event.batchId`/,
    ],
    ['a heal without a batch id', { kind: 'picsum-batch.heal' }, /`event.batchId`/],
    [
      'a heal whose batch id is not a string',
      { kind: 'picsum-batch.heal', batchId: 7 },
      /`event.batchId` is not valid \(got 7\)/,
    ],
  ])('refuses %s as invalid, naming the field', (_name, event, field) => {
    expect(() => parseStepEvent(event, config)).toThrow(field);
    expect(() => parseStepEvent(event, config)).not.toThrow(UnrecognizedEventError);
  });

  it('names the field and, briefly, the value that failed', () => {
    expect(() =>
      parseStepEvent({ kind: 'picsum-batch.plan', job: { batchId: '../x', request }, execution: 'x' }, config),
    ).toThrow('Refused a picsum-batch.plan event: `event.job.batchId` is not valid (got "../x")');
    const long = 'a'.repeat(200);
    expect(() => parseStepEvent({ kind: 'picsum-batch.heal', batchId: [long] }, config)).toThrow(
      `(got ${JSON.stringify([long]).slice(0, 80)})`,
    );
  });

  it("checks a plan's job: its request by the API's rules, and its retry within it", () => {
    const plan = (extra: object) => ({ kind: 'picsum-batch.plan', job: { ...job, ...extra }, execution: 'b' });
    expect(parseStepEvent(plan({ retry: { run: 1, items: 1 } }), config)).toMatchObject({
      job: { retry: { run: 1, items: 1 } },
    });
    expect(() => parseStepEvent(plan({ retry: { run: 1, items: 2 } }), config)).toThrow(
      "`event.job.retry.items` is 2, more than the batch's 1",
    );
    expect(() => parseStepEvent(plan({ retry: { run: 0, items: 1 } }), config)).toThrow(/`event.job.retry.run`/);
    expect(() => parseStepEvent(plan({ scheduled: false }), config)).toThrow(/`event.job.scheduled`/);
    expect(parseStepEvent(plan({ scheduled: true }), config)).toMatchObject({ job: { scheduled: true } });
    // What the state adds beside a job (a map's error, say) is dropped, never passed on.
    expect(parseStepEvent(plan({ extra: 1 }), config)).not.toHaveProperty('job.extra');
  });

  it("checks a run envelope's schedule: a name with a letter or digit, and an ISO time", () => {
    const run = (scheduleName: unknown, scheduledTime: unknown) => ({
      kind: 'picsum-batch.run',
      scheduleName,
      scheduledTime,
    });
    expect(() => parseStepEvent(run('--', startedAt), config)).toThrow('got "--" and "2026-11-25T00:00:00.000Z"');
    expect(() => parseStepEvent(run(7, startedAt), config)).toThrow('got "7" and');
    expect(() => parseStepEvent(run('s', 'soon'), config)).toThrow('and "soon"');
    expect(() => parseStepEvent(run('s', 12), config)).toThrow('and "12"');
    expect(() => parseStepEvent({ kind: 'picsum-batch.run', scheduledTime: startedAt }, config)).toThrow(/together/);
    expect(parseStepEvent(run('a', startedAt), config)).toMatchObject({ schedule: { name: 'a' } });
    expect(parseStepEvent(run('9', startedAt), config)).toMatchObject({ schedule: { name: '9' } });
  });

  it('refuses schedule times no schedule sends: past the years a batch id can carry, before 2000, over a day ahead, or not UTC', () => {
    const run = (scheduledTime: unknown) => ({ kind: 'picsum-batch.run', scheduleName: 'nightly', scheduledTime });
    const dayAndAHourAhead = new Date(Date.now() + 25 * 3_600_000).toISOString();
    for (const time of [
      '+275760-09-13T00:00:00Z',
      '1',
      '1999-12-31T23:59:59Z',
      dayAndAHourAhead,
      '2026-11-25T01:00:00+01:00',
    ]) {
      expect(() => parseStepEvent(run(time), config), time).toThrow(/a UTC time as Scheduler sends it/);
    }
    expect(parseStepEvent(run('2000-01-01T00:00:00Z'), config)).toMatchObject({ schedule: { name: 'nightly' } });
    for (const time of ['x2026-11-25T00:00:00Z', '+002026-11-25T00:00:00Z', '2026-11-25T00:00:00Zx']) {
      expect(() => parseStepEvent(run(time), config), time).toThrow(/a UTC time as Scheduler sends it/);
    }
  });

  it('takes a schedule time up to a day ahead, to the millisecond', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-06T00:00:00.000Z') });
    try {
      const run = (scheduledTime: string) => ({ kind: 'picsum-batch.run', scheduleName: 'n', scheduledTime });
      expect(parseStepEvent(run('2026-12-06T01:00:00Z'), config)).toMatchObject({ schedule: { name: 'n' } });
      expect(parseStepEvent(run('2026-12-07T00:00:00.000Z'), config)).toMatchObject({ schedule: { name: 'n' } });
      expect(() => parseStepEvent(run('2026-12-07T00:00:00.001Z'), config)).toThrow(/a UTC time/);
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses a job whose batch id is the records' own folder", () => {
    const job = { batchId: 'idempotency', request: { count: 1 } };
    expect(() => parseStepEvent({ kind: 'picsum-batch.plan', job, execution: 'x' }, config)).toThrow(
      /`event.job.batchId`/,
    );
  });

  it('checks a chunk task: its concurrency within MAX_CONCURRENCY, its chunk within its run', () => {
    const task = (extra: object) => ({
      kind: 'picsum-batch.chunk',
      task: {
        batchId: 'b',
        request: { count: 4 },
        concurrency: 1,
        startedAt,
        chunk: { chunk: 0, start: 0, end: 4 },
        ...extra,
      },
    });
    expect(parseStepEvent(task({}), config)).toMatchObject({ task: { chunk: { end: 4 } } });
    expect(parseStepEvent(task({ concurrency: config.maxConcurrency }), config).kind).toBe('picsum-batch.chunk');
    expect(() => parseStepEvent(task({ concurrency: config.maxConcurrency + 1 }), config)).toThrow(
      `\`event.task.concurrency\` is over MAX_CONCURRENCY (${config.maxConcurrency})`,
    );
    expect(() => parseStepEvent(task({ chunk: { chunk: 0, start: 0, end: 5 } }), config)).toThrow(
      'chunk 0 covers 0..5, not within the 4 items it runs',
    );
    expect(() => parseStepEvent(task({ chunk: { chunk: 0, start: 2, end: 2 } }), config)).toThrow('covers 2..2');
    expect(parseStepEvent(task({ chunk: { chunk: 0, start: 2, end: 3 } }), config).kind).toBe('picsum-batch.chunk');
    // A retry chunk: its positions are within the run's own items (here, the request's count).
    expect(parseStepEvent(task({ chunk: { chunk: 1, start: 0, end: 4, retry: 2 } }), config).kind).toBe(
      'picsum-batch.chunk',
    );
    expect(() => parseStepEvent(task({ startedAt: 'then' }), config)).toThrow(/`event.task.startedAt`/);
    expect(() => parseStepEvent(task({ chunk: { chunk: -1, start: 0, end: 1 } }), config)).toThrow(
      /`event.task.chunk.chunk`/,
    );
  });

  it("checks an aggregate's chunks: within the items its run runs, each of its own run", () => {
    const plan = (chunks: object[], retry?: object) => ({
      kind: 'picsum-batch.aggregate',
      plan: {
        batchId: 'b',
        request: { count: 4 },
        concurrency: 1,
        parallelChunks: 1,
        startedAt,
        chunks,
        ...(retry ? { retry } : {}),
      },
    });
    expect(parseStepEvent(plan([{ chunk: 0, start: 0, end: 4 }]), config).kind).toBe('picsum-batch.aggregate');
    expect(() => parseStepEvent(plan([]), config)).toThrow(/`event.plan.chunks`/);
    expect(() => parseStepEvent(plan([{ chunk: 0, start: 0, end: 4, retry: 1 }]), config)).toThrow(
      "chunk 0 is of run 1, not the job's 0",
    );
    expect(() => parseStepEvent(plan([{ chunk: 0, start: 0, end: 2 }], { run: 1, items: 2 }), config)).toThrow(
      "chunk 0 is of run 0, not the job's 1",
    );
    expect(() =>
      parseStepEvent(plan([{ chunk: 0, start: 0, end: 3, retry: 1 }], { run: 1, items: 2 }), config),
    ).toThrow('not within the 2 items it runs');
    expect(parseStepEvent(plan([{ chunk: 0, start: 0, end: 2, retry: 1 }], { run: 1, items: 2 }), config).kind).toBe(
      'picsum-batch.aggregate',
    );
  });

  it("checks a failure record's failure: Step Functions' Error and Cause, as strings", () => {
    const failed = (failure: object) => ({ kind: 'picsum-batch.failed', batchId: 'b', requested: 1, failure });
    expect(parseStepEvent(failed({ Error: 'E', Cause: 'C' }), config)).toMatchObject({ failure: { Error: 'E' } });
    expect(() => parseStepEvent(failed({ Error: 5 }), config)).toThrow(/`event.failure.Error`/);
    expect(() => parseStepEvent({ ...failed({}), requested: -1 }, config)).toThrow(/`event.requested`/);
  });

  it('names where a request inside an event failed, and keeps what it quotes short', () => {
    const bad = { count: 0 };
    expect(() => parseStepEvent({ kind: 'picsum-batch.run', request: bad }, config)).toThrow(
      /`event.request`: Expected `count`/,
    );
    expect(() =>
      parseStepEvent({ kind: 'picsum-batch.plan', job: { batchId: 'b', request: bad }, execution: 'b' }, config),
    ).toThrow(/`event.job.request`: /);
    const task = { batchId: 'b', request: bad, concurrency: 1, startedAt, chunk };
    expect(() => parseStepEvent({ kind: 'picsum-batch.chunk', task }, config)).toThrow(/`event.task.request`: /);
    const plan = { batchId: 'b', request: bad, concurrency: 1, parallelChunks: 1, startedAt, chunks: [chunk] };
    expect(() => parseStepEvent({ kind: 'picsum-batch.aggregate', plan }, config)).toThrow(/`event.plan.request`: /);
    const name = 'n'.repeat(200);
    const time = `t${'9'.repeat(100)}`;
    const refusal = (() => {
      try {
        parseStepEvent({ kind: 'picsum-batch.run', scheduleName: name, scheduledTime: time }, config);
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(refusal?.endsWith(`got ${JSON.stringify(name).slice(0, 80)} and ${JSON.stringify(time).slice(0, 40)}`)).toBe(
      true,
    );
  });

  it('takes chunk numbers below MAX_CHUNKS', () => {
    const task = (n: number) => ({
      kind: 'picsum-batch.chunk',
      task: { batchId: 'b', request, concurrency: 1, startedAt, chunk: { chunk: n, start: 0, end: 1 } },
    });
    expect(parseStepEvent(task(MAX_CHUNKS - 1), config).kind).toBe('picsum-batch.chunk');
    expect(() => parseStepEvent(task(MAX_CHUNKS), config)).toThrow(/`event.task.chunk.chunk`/);
  });

  it('says which steps the workflow function answers', () => {
    expect(WORKFLOW_ANSWERS).toBe(
      'only the batch state machine\'s steps ("picsum-batch.run", "picsum-batch.plan", "picsum-batch.chunk", "picsum-batch.aggregate", "picsum-batch.failed", "picsum-batch.heal")',
    );
    expect(API_ANSWERS).toBe('API Gateway REST proxy events only');
  });

  it('names what arrived and what the entry answers, with a stable code', () => {
    try {
      parseStepEvent({ count: 3 }, config);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ name: 'UnrecognizedEventError', code: 'UNRECOGNIZED_EVENT' });
      expect((error as Error).message).toBe(
        `Refused an event with keys "count": this function answers ${WORKFLOW_ANSWERS}`,
      );
    }
    expect(() => parseApiEvent({})).toThrow(`Refused an empty event {}: this function answers ${API_ANSWERS}`);
  });
});

describe('describeEvent', () => {
  it('says what kind of thing arrived, briefly', () => {
    expect(describeEvent(null)).toBe('an event that is null');
    expect(describeEvent([1])).toBe('an event that is an array');
    expect(describeEvent('x')).toBe('an event that is a string');
    expect(describeEvent(7)).toBe('an event that is a number');
    expect(describeEvent({})).toBe('an empty event {}');
    expect(describeEvent({ kind: 'x', a: 1 })).toBe('an event of kind "x" with keys "kind", "a"');
    expect(describeEvent({ Records: [{ eventSource: 'aws:s3' }, {}] })).toBe('an event of 2 record(s) from aws:s3');
    expect(describeEvent({ Records: [{ EventSource: 'aws:sns' }] })).toBe('an event of 1 record(s) from aws:sns');
    expect(describeEvent({ Records: [] })).toBe('an event of 0 record(s) from an unknown source');
    expect(describeEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).toBe(
      'an EventBridge event (source "aws.events", detail-type "Scheduled Event")',
    );
    expect(describeEvent({ 'detail-type': 'X' })).toMatch(/^an EventBridge event/);
    expect(describeEvent({ httpMethod: 'POST', path: '/batches' })).toBe('an API Gateway request (POST /batches)');
    expect(describeEvent({ httpMethod: 'X'.repeat(50), path: `/${'p'.repeat(100)}` })).toBe(
      `an API Gateway request (${'X'.repeat(10)} /${'p'.repeat(59)})`,
    );
  });

  it('never repeats a large event', () => {
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, 'v'.repeat(1000)]));
    const text = describeEvent(many);
    expect(text).toMatch(/"key7", \.\.\.$/);
    expect(text).not.toMatch(/key8/);
    expect(describeEvent({ [`k${'x'.repeat(100)}`]: 1 }).length).toBeLessThan(80);
    expect(describeEvent({ Records: [{ eventSource: 's'.repeat(500) }] }).length).toBeLessThan(120);
    expect(describeEvent({ kind: 'k'.repeat(500) }).length).toBeLessThan(120);
    expect(describeEvent({ source: 's'.repeat(500), 'detail-type': 'd'.repeat(500) }).length).toBeLessThan(200);
  });
});

describe('describeEvent, at eight keys', () => {
  it('shows eight keys whole, and marks a ninth', () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(describeEvent(keys(8))).toBe('an event with keys "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"');
    expect(describeEvent(keys(9))).toBe('an event with keys "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", ...');
  });
});
