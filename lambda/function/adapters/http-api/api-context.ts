import type { BatchResult } from '../../contracts/result.js';
import type { BatchService } from '../../orchestration/batch-service.js';

/** API Gateway cuts integrations at 29 s: a synchronous batch must be answered well before. */
export const SYNC_BUDGET_MS = 25_000;

export type ApiContext = {
  /** How batches run, and their records. */
  batches: BatchService;
  /** Milliseconds until the runtime stops us (the Lambda context's remaining time). */
  remainingMs: number;
  log: ApiLog;
  /** Called with every batch answered synchronously (metrics). */
  onResult?: (result: BatchResult) => void;
  /** Cancels synchronous batches in flight (the dev server stopping); unset in Lambda. */
  cancel?: AbortSignal;
};

/** The logger methods the API needs (Powertools' Logger in Lambda, the console locally). */
export type ApiLog = {
  info(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
};
