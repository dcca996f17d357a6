import type { BatchResult } from '../../contracts/result.js';
import type { BatchService } from '../../orchestration/batch-service.js';

/** API Gateway cuts integrations at 29 s: a synchronous batch must be answered well before. */
export const SYNC_BUDGET_MS = 25_000;

export { IN_REQUEST_MS } from '../../orchestration/lifecycle.js';

export type ApiContext = {
  /** How batches run, and their records. */
  batches: BatchService;
  /**
   * The path of the API's root as the caller sees it (a stage, `/v1`; a custom domain's base
   * path), for `Location`; empty when the API is served at the root (`npm run dev`).
   */
  basePath?: string;
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
