import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import definition from '../../lambda/local/batch-definition.json' with { type: 'json' };
import { localEngine } from '../../lambda/local/local-engine.js';

/** An engine whose steps answer as `step` says, by kind. */
const engineWith = (step: (payload: { kind?: string }) => unknown) =>
  localEngine({ invokeStep: async (payload) => step(payload as { kind?: string }), healDelaySeconds: 0 });

describe('the local engine', () => {
  it("keeps Step Functions' rules for names: the same name and input while running starts nothing, one that ran refuses", async () => {
    let plans = 0;
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const engine = engineWith(async (payload) => {
      if (payload.kind !== 'picsum-batch.plan') throw new Error('stop here');
      plans++;
      await held;
      throw new Error('stop here');
    });
    const job = { batchId: 'b', request: { count: 1 } } as never;

    await engine.start('b', job);
    await engine.start('b', job);
    await expect(engine.start('b', { batchId: 'b', request: { count: 2 } } as never)).rejects.toMatchObject({
      name: 'ExecutionExistsError',
    });
    release();
    const end = await engine.finished('b');

    expect(plans).toBe(1);
    expect(end).toMatchObject({ status: 'FAILED', requested: 1 });
    await expect(engine.start('b', job)).rejects.toMatchObject({ name: 'ExecutionExistsError' });
    expect(await engine.describe('never')).toBeUndefined();
    expect(engine.names()).toEqual(['b']);
  });

  it('refuses a start over its limit with QUEUE_FULL, and takes one again once a run ended', async () => {
    const engine = engineWith(() => {
      throw new Error('stop here');
    });
    engine.limitRunning(0);
    await expect(engine.start('x', { batchId: 'x', request: { count: 1 } } as never)).rejects.toMatchObject({
      code: 'QUEUE_FULL',
    });
    expect(engine.names()).toEqual([]);
  });

  // The engine builds its machine with validation off (it costs 28 MB of a batch's memory), so the
  // committed definition is validated here, by the same library, as it would be at run time.
  it('runs a definition the library validates, and the validation refuses a broken one', () => {
    const validated = (checked: object) => () =>
      new StateMachine(checked as never, { validationOptions: { checkArn: false, checkPaths: false } });
    expect(validated(definition)).not.toThrow();
    const broken = structuredClone(definition) as { States: Record<string, { Next?: string }> };
    broken.States.Plan = { ...broken.States.Plan, Next: 'NoSuchState' };
    expect(validated(broken)).toThrow();
  });
});

describe('aws-local-stepfunctions 3.0.0, which runs the definition locally', () => {
  // The definition says `Not: {IsPresent: true}` where `IsPresent: false` would do, because this
  // library reads `IsPresent: false` as false on a missing field. Step Functions reads both alike.
  // When this fails, the library reads it right: infra/batch-workflow.ts may use Condition.isNotPresent.
  it('reads IsPresent: false as false for a field that is missing, and Not IsPresent as true', async () => {
    const choose = (rule: object) =>
      new StateMachine({
        StartAt: 'C',
        States: {
          C: { Type: 'Choice', Choices: [{ ...rule, Next: 'Yes' }], Default: 'No' },
          Yes: { Type: 'Pass', Result: 'yes', End: true },
          No: { Type: 'Pass', Result: 'no', End: true },
        },
      } as never).run({}).result;

    expect(await choose({ Variable: '$.retry', IsPresent: false })).toBe('no');
    expect(await choose({ Not: { Variable: '$.retry', IsPresent: true } })).toBe('yes');
  });
});
