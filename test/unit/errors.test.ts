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
});
