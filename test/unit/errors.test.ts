import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidEventError, UnrecognizedEventError } from '../../lambda/function/adapters/event-refusal.js';
import { HTTP_STATUS } from '../../lambda/function/adapters/http-api/responses.js';
import { AppError, ConfigError, ERROR_CODES, RequestError } from '../../lambda/function/contracts/errors.js';
import { LaunchError } from '../../lambda/function/orchestration/batch-service.js';
import { NotPlannedError } from '../../lambda/function/orchestration/chunked/index.js';
import { ExecutionExistsError } from '../../lambda/function/orchestration/engine.js';
import { RunStopped } from '../../lambda/function/pipeline/item-context.js';
import { SourceError } from '../../lambda/function/source/source-error.js';
import { StoreError } from '../../lambda/function/storage/store-error.js';
import { QueueFullError } from '../../lambda/local/local-engine.js';

describe('the error contract', () => {
  it('documents every code once, and the API adapter gives each its status', () => {
    expect(Object.keys(HTTP_STATUS).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const status of Object.values(HTTP_STATUS)) expect(status).toBeGreaterThanOrEqual(400);
  });

  it('has one base for every error with a code, each named as it is thrown, none carrying an HTTP status', () => {
    const errors = [
      new RequestError('bad', { field: 'count', code: 'INVALID_FIELD' }),
      new ConfigError('unusable'),
      new LaunchError('b', new Error('throttled')),
      new NotPlannedError('b', undefined, undefined),
      new InvalidEventError('picsum-batch.job', 'no'),
      new UnrecognizedEventError('an empty event {}', 'API Gateway REST proxy events only'),
      new QueueFullError(8),
      new StoreError('S3 GetObject failed: SlowDown', { s3Code: 'SlowDown', s3Status: 503, cause: undefined }),
      new SourceError('source_status', 'HTTP 503', { retryable: true }),
      new RunStopped('cancelled'),
      new ExecutionExistsError('b'),
    ];
    expect(errors.map((error) => [error.name, error.code])).toEqual([
      ['RequestError', 'INVALID_FIELD'],
      ['ConfigError', 'CONFIG_INVALID'],
      ['LaunchError', 'LAUNCH_FAILED'],
      ['NotPlannedError', 'NOT_PLANNED'],
      ['InvalidEventError', 'INVALID_EVENT'],
      ['UnrecognizedEventError', 'UNRECOGNIZED_EVENT'],
      ['QueueFullError', 'QUEUE_FULL'],
      ['StoreError', 'STORE_FAILED'],
      ['SourceError', 'SOURCE_FAILED'],
      ['RunStopped', 'RUN_STOPPED'],
      ['ExecutionExistsError', 'EXECUTION_EXISTS'],
    ]);
    expect(errors.map((error) => error.retryable)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      false,
      false,
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(AppError);
      expect(error).not.toHaveProperty('status');
      expect(Object.keys(ERROR_CODES)).toContain(error.code);
    }
  });

  it('keeps the cause of an error that has one', () => {
    const cause = new Error('throttled');
    expect(new LaunchError('b', cause).cause).toBe(cause);
  });

  // What the bundle throws on purpose has a code: a bare Error, or a class of its own beside
  // AppError, would reach a caller as INTERNAL, and the API would pick no status for it.
  it('has nothing under lambda/function throw a bare Error, or an error class that is not an AppError', () => {
    const offences: string[] = [];
    for (const file of sourceFiles(new URL('../../lambda/function/', import.meta.url))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/throw new Error\(|extends Error\b/.test(line) && !/class AppError extends Error/.test(line))
            offences.push(`${file.slice(file.indexOf('lambda/'))}:${i + 1}`);
        });
    }
    expect(offences).toEqual([]);
  });
});

/** Every TypeScript file under `folder`. */
function sourceFiles(folder: URL): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => fileURLToPath(new URL(name, folder)));
}
