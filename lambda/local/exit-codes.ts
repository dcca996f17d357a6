import type { BatchResult } from '../function/contracts/result.js';

/**
 * What `npm start` (and `npm run invoke`) exit with, as download tools do (wget, rclone): a script
 * can tell a whole batch from a partial one from an empty one without reading the result.
 */
export const EXIT_CODES = {
  /** Every item is stored. */
  stored: 0,
  /** Nothing could run: a bucket or source that cannot be used, a batch that cannot be retried. */
  error: 1,
  /** A bad flag or request: nothing was started. */
  usage: 2,
  /** Some items failed (the rest are stored); the manifest lists which. */
  someFailed: 3,
  /** No item was stored. */
  noneStored: 4,
  /** Cancelled by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it). */
  cancelled: 130,
} as const;

/** The exit code a batch's result calls for. */
export function exitCodeOf(result: Pick<BatchResult, 'status' | 'succeeded' | 'failed'>): number {
  if (result.status === 'cancelled') return EXIT_CODES.cancelled;
  if (result.failed === 0) return EXIT_CODES.stored;
  return result.succeeded === 0 ? EXIT_CODES.noneStored : EXIT_CODES.someFailed;
}
