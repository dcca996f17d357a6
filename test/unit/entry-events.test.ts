import { describe, expect, it } from 'vitest';
import {
  API_ANSWERS,
  parseApiEvent,
  parseRunEvent,
  parseStepEvent,
  RUNS_ANSWERS,
} from '../../lambda/function/adapters/entry-events.js';
import { describeEvent, UnrecognizedEventError } from '../../lambda/function/adapters/event-refusal.js';
import { loadConfig } from '../../lambda/function/contracts/config.js';

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
    ['a background job', { kind: 'picsum-batch.job', job }, 'picsum-batch.job'],
    ['a run envelope', { kind: 'picsum-batch.run', request: { count: 2 } }, 'picsum-batch.run'],
    ['a run envelope without a request', { kind: 'picsum-batch.run' }, 'picsum-batch.run'],
  ])('the runs function: %s', (_name, event, kind) => {
    expect(parseRunEvent(event, config).kind).toBe(kind);
  });

  it.each([
    ['a plan step', { kind: 'picsum-batch.plan', job }],
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
    const run = parseRunEvent(
      { kind: 'picsum-batch.run', request: { count: 2 }, scheduleName: 's', scheduledTime: '2026-11-25T00:00:00Z' },
      config,
    );
    expect(run).toMatchObject({
      request: { count: 2, width: 600 },
      schedule: { name: 's', time: Date.parse(startedAt) },
    });
    expect(() => parseRunEvent({ kind: 'picsum-batch.run', scheduleName: 's' }, config)).toThrow(
      /`event.scheduleName` \(a name\) and `event.scheduledTime` \(an ISO time\) together/,
    );
    expect(() =>
      parseRunEvent({ kind: 'picsum-batch.run', scheduleName: '--', scheduledTime: startedAt }, config),
    ).toThrow(/together/);
    expect(() => parseRunEvent({ kind: 'picsum-batch.run', request: { count: 0 } }, config)).toThrow(/`count`/);
  });

  const everyKind = [
    { httpMethod: 'GET', path: '/', headers: {} },
    { kind: 'picsum-batch.job', job },
    { kind: 'picsum-batch.run', request },
    { kind: 'picsum-batch.plan', job },
    { kind: 'picsum-batch.heal', batchId: 'b' },
  ];

  it('refuses, as unrecognised, every event of another entry', () => {
    const [api, runJob, runEnvelope, plan, heal] = everyKind;
    for (const event of [runJob, runEnvelope, plan, heal]) {
      expect(() => parseApiEvent(event)).toThrow(UnrecognizedEventError);
    }
    for (const event of [api, plan, heal]) expect(() => parseRunEvent(event, config)).toThrow(UnrecognizedEventError);
    for (const event of [api, runJob, runEnvelope]) {
      expect(() => parseStepEvent(event, config)).toThrow(UnrecognizedEventError);
    }
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
    expect(() => parseRunEvent(event, config)).toThrow(UnrecognizedEventError);
    expect(() => parseStepEvent(event, config)).toThrow(UnrecognizedEventError);
  });

  it.each([
    ['a job without a job', { kind: 'picsum-batch.job' }, /`event.job`/],
    [
      'a job whose request is not an object',
      { kind: 'picsum-batch.job', job: { batchId: 'b', request: 3 } },
      /`event.job.request`/,
    ],
    ['a job without a batch id', { kind: 'picsum-batch.job', job: { request: {} } }, /`event.job.batchId`/],
  ])('refuses %s as invalid, naming the field', (_name, event, field) => {
    expect(() => parseRunEvent(event, config)).toThrow(field);
    expect(() => parseRunEvent(event, config)).not.toThrow(UnrecognizedEventError);
  });

  it.each([
    ['a plan without its job', { kind: 'picsum-batch.plan', task: job }, /`event.job`/],
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

  it('names what arrived and what the entry answers, with a stable code', () => {
    try {
      parseRunEvent({ count: 3 }, config);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ name: 'UnrecognizedEventError', code: 'UNRECOGNIZED_EVENT' });
      expect((error as Error).message).toBe(
        `Refused an event with keys "count": this function answers ${RUNS_ANSWERS}`,
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
