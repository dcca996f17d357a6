import { describe, expect, it } from 'vitest';
import { describeEvent, recognizeEvent, UnrecognizedEventError } from '../../lambda/function/adapters/events.js';

const job = { batchId: 'b', request: { count: 1 } };

describe('recognizeEvent', () => {
  it.each([
    ['an API Gateway proxy event', { httpMethod: 'GET', path: '/batches/b', headers: {} }, 'api'],
    ['a proxy event without headers', { httpMethod: 'POST', path: '/batches', headers: null }, 'api'],
    ['a background job', { kind: 'picsum-batch.job', job }, 'job'],
    ['a plan step', { kind: 'picsum-batch.plan', job }, 'workflow'],
    ['a chunk step', { kind: 'picsum-batch.chunk', task: { ...job, chunk: { chunk: 0 } } }, 'workflow'],
    ['an aggregate step', { kind: 'picsum-batch.aggregate', plan: { ...job, chunks: [] } }, 'workflow'],
    ['a failure record', { kind: 'picsum-batch.failed', batchId: 'b', failure: {} }, 'workflow'],
    ['a run envelope', { kind: 'picsum-batch.run', request: { count: 2 } }, 'run'],
    ['a heal', { kind: 'picsum-batch.heal', batchId: 'b' }, 'heal'],
  ])('recognises %s', (_name, event, type) => {
    const recognized = recognizeEvent(event);
    expect(recognized.type).toBe(type);
    expect(recognized.event).toBe(event);
  });

  it.each([
    ['null', null],
    ['a string', 'go'],
    ['an array', [job]],
    ['an empty object', {}],
    ['a bare request', { count: 3 }],
    ['a proxy event without a path', { httpMethod: 'GET', headers: {} }],
    ['a proxy event with a numeric method', { httpMethod: 1, path: '/', headers: {} }],
    ['a proxy event with string headers', { httpMethod: 'GET', path: '/', headers: 'x' }],
    ['a proxy event with no headers key', { httpMethod: 'GET', path: '/' }],
    ['a job without a job', { kind: 'picsum-batch.job' }],
    ['a job whose request is not an object', { kind: 'picsum-batch.job', job: { batchId: 'b', request: 3 } }],
    ['a job without a batch id', { kind: 'picsum-batch.job', job: { request: {} } }],
    ['a plan without its job', { kind: 'picsum-batch.plan', task: job }],
    ['a chunk without its chunk', { kind: 'picsum-batch.chunk', task: job }],
    ['a chunk with no task', { kind: 'picsum-batch.chunk', job }],
    ['an aggregate without chunks', { kind: 'picsum-batch.aggregate', plan: job }],
    ['an aggregate with no plan', { kind: 'picsum-batch.aggregate', job }],
    ['a failure record without its failure', { kind: 'picsum-batch.failed', batchId: 'b' }],
    ['a failure record without a batch id', { kind: 'picsum-batch.failed', failure: {} }],
    ['an unknown kind', { kind: 'picsum-batch.other' }],
    ['a heal without a batch id', { kind: 'picsum-batch.heal' }],
    ['a heal whose batch id is not a string', { kind: 'picsum-batch.heal', batchId: 7 }],
  ])('refuses %s', (_name, event) => {
    expect(() => recognizeEvent(event)).toThrow(UnrecognizedEventError);
  });

  it('names what arrived and what it answers, with a stable code', () => {
    try {
      recognizeEvent({ count: 3 });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ name: 'UnrecognizedEventError', code: 'UNRECOGNIZED_EVENT' });
      expect((error as Error).message).toBe(
        'Refused an event with keys "count": this function answers API Gateway proxy events, its own jobs and ' +
          'workflow steps, and {"kind":"picsum-batch.run","request":{...}} (the schedule\'s payload, or a direct invocation)',
      );
    }
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
