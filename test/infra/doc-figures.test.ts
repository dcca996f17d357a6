import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettings, type StackSettings } from '../../infra/settings.js';
import { clientConfig } from '../../lambda/function/adapters/step-functions-engine.js';
import { definitionOf } from '../support/state-machine.js';
import { removeSynthesized, type Synthesized, synthesize } from './synth.js';

/**
 * Every figure docs/ states about a deployed stack, held to what the stack is: the synthesized
 * template (timeouts, memory, retries and their intervals, alarms, outputs) or the settings table
 * (defaults and limits). A doc that drops a phrase checked here fails too: change both together.
 */
const doc = (name: string) => readFileSync(`docs/${name}`, 'utf8').replace(/\s+/g, ' ');
const [architecture, deploy, faults] = ['architecture.md', 'deploy.md', 'faults.md'].map(doc) as [
  string,
  string,
  string,
];

/** The captured figures of `pattern` in `text`, which must be there. */
function figures(text: string, pattern: RegExp): string[] {
  const found = pattern.exec(text);
  expect(found, `docs should say ${pattern}`).not.toBeNull();
  return (found ?? []).slice(1);
}

const WORDS = [
  ...['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'],
  ...['eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'],
];
const defaults = readSettings(() => undefined);

type Retrier = { ErrorEquals: string[]; IntervalSeconds: number; MaxAttempts: number; BackoffRate: number };
type LambdaFunction = { Properties: { Timeout: number; MemorySize: number; Environment?: unknown } };

let synthesized: Synthesized;
beforeAll(() => {
  synthesized = synthesize();
}, 120_000);
afterAll(() => removeSynthesized(synthesized.outdir));

describe('the figures docs/ states', () => {
  it("deploy.md's context table: every setting, with the default the settings table gives it", () => {
    const table = deploy.slice(deploy.indexOf('| context key | default | meaning |'));
    const rows = [...table.matchAll(/\| ((?:`\w+`(?:, )?)+) \| ([^|]+) \|/g)];
    const documented = new Map<string, string>();
    for (const [, keys, values] of rows) {
      const names = [...(keys ?? '').matchAll(/`(\w+)`/g)].map(([, key]) => key ?? '');
      const given = (values ?? '').trim().split(/, (?=\S)/);
      for (const [i, name] of names.entries()) {
        documented.set(name, (names.length > 1 ? given[i] : values)?.trim() ?? '');
      }
    }
    const shown = (value: unknown) =>
      value === undefined || (Array.isArray(value) && value.length === 0)
        ? 'none'
        : typeof value === 'object' || typeof value === 'boolean' || typeof value === 'string'
          ? `\`${typeof value === 'object' ? JSON.stringify(value) : value}\``
          : String(value);
    for (const [key, value] of Object.entries(defaults) as [keyof StackSettings, unknown][]) {
      const name = key === 'alarmEmails' ? 'alarmEmail' : key;
      expect(documented.get(name), `\`${name}\` in deploy.md`).toBe(shown(value));
    }
  });

  it("the functions' timeouts and memory", () => {
    const functions = Object.values(
      synthesized.template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs24.x' } }),
    ) as LambdaFunction[];
    const timeouts = functions.map((fn) => fn.Properties.Timeout).sort((a, b) => a - b);
    const [api, workflow] = figures(architecture, /Lambda api<br\/>(\d+) s.*Lambda workflow<br\/>(\d+) s/).map(Number);
    expect([api, workflow]).toEqual(timeouts);
    expect(workflow).toBe(defaults.timeoutSeconds);
    expect(Number(figures(architecture, /`timeoutSeconds` \((\d+) s by default/)[0])).toBe(workflow);
    expect(new Set(functions.map((fn) => fn.Properties.MemorySize))).toEqual(new Set([defaults.memoryMb]));
  });

  it("the steps' retries and their intervals, as the state machine has them", () => {
    const states = definitionOf(synthesized.template).States as Record<string, { Retry?: Retrier[] }>;
    const [lambdaErrors] = states.Plan?.Retry ?? [];
    const [interval, maxDelay, retries, tries] = figures(
      architecture,
      /\((\d+) s, doubling, at most (\d+) s apart: (\w+) retries, (\w+) tries\)/,
    );
    expect(lambdaErrors).toMatchObject({
      IntervalSeconds: Number(interval),
      BackoffRate: 2,
      MaxDelaySeconds: Number(maxDelay),
      MaxAttempts: Number(retries),
    });
    expect(Number(tries)).toBe(Number(retries) + 1);

    const failed = states.Aggregate?.Retry?.find((retrier) => retrier.ErrorEquals.includes('States.TaskFailed'));
    const [times, first, second] = figures(
      architecture,
      /it is tried (\w+) more on any error \((\d+) s, then (\d+) s\)/,
    );
    expect(failed).toMatchObject({ MaxAttempts: times === 'twice' ? 2 : Number.NaN, IntervalSeconds: Number(first) });
    expect(Number(second)).toBe(Number(first) * (failed?.BackoffRate ?? 0));

    const [launchTries] = figures(faults, /with the SDK's retries \((\d+) tries/);
    expect(clientConfig({ region: 'us-east-1' }).maxAttempts).toBe(Number(launchTries));
  });

  it('the schedule, the heal, and the limits the architecture names', () => {
    const [schedule] = Object.values(synthesized.template.findResources('AWS::Scheduler::Schedule')) as {
      Properties: { Target: { RetryPolicy: { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number } } };
    }[];
    const [retries, hours] = figures(deploy, /after (\d+) retries within (\d+) hours/).map(Number);
    expect(schedule?.Properties.Target.RetryPolicy).toEqual({
      MaximumRetryAttempts: retries,
      MaximumEventAgeInSeconds: (hours ?? 0) * 3600,
    });
    expect(Number(figures(architecture, /`healDelaySeconds` \((\d+)\)/)[0])).toBe(defaults.healDelaySeconds);
    expect(Number(figures(architecture, /`syncMaxCount` \((\d+)\)/)[0])).toBe(defaults.syncMaxCount);
    expect(Number(figures(deploy, /`syncMaxCount` \((\d+)\)/)[0])).toBe(defaults.syncMaxCount);
    expect(Number(figures(architecture, /one chunk up to ([\d,]+)/)[0]?.replace(',', ''))).toBe(defaults.chunkSize);
    expect(Number(figures(architecture, /never has more than (\d+) requests/)[0])).toBe(defaults.sourceMaxConcurrency);
  });

  it('the alarms and the outputs', () => {
    const alarms = Object.keys(synthesized.template.findResources('AWS::CloudWatch::Alarm')).length;
    const counted = [...deploy.matchAll(/\b(\w+) (?:CloudWatch )?alarms\b/gi)]
      .map(([, word]) => WORDS.indexOf((word ?? '').toLowerCase()))
      .filter((n) => n >= 0);
    expect(counted.length).toBeGreaterThan(0);
    for (const n of counted) expect(n).toBe(alarms);

    // The construct's own outputs by name; RestApi adds one more of its own (the same URL as ApiUrl).
    const outputs = Object.keys(synthesized.template.toJSON().Outputs ?? {}).sort();
    const own = outputs.filter((name) => !/HttpApiEndpoint[0-9A-F]{8}$/.test(name));
    const [listed] = figures(deploy, /prints the outputs ((?:`[^`]+`[^`.]*)+)\./);
    const names = [...(listed ?? '').matchAll(/`([A-Z]\w+)`/g)].map(([, name]) => name);
    expect([...new Set(names)].sort()).toEqual(own);
    expect(outputs.length - own.length).toBe(deploy.includes('`…HttpApiEndpoint…`') ? 1 : 0);
  });
});
