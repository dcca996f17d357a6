import type { BatchResult } from '../function/contracts/result.js';

/**
 * What `npm start` (and `npm run invoke`) exit with, as download tools do (wget, rclone): a script
 * can tell a whole batch from a partial one from an empty one without reading the result.
 */
export const EXIT_CODES = {
  /** Every item is stored. */
  stored: 0,
  /** Nothing could run: a bucket or source that cannot be used, a batch that cannot be retried or deleted. */
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

/**
 * What each exit code means, in the words the README's table and `--help` both give: one table.
 * In the order a script meets them most.
 */
export const EXIT_MEANINGS: Readonly<Record<keyof typeof EXIT_CODES, string>> = {
  stored: 'every item is stored',
  someFailed: 'some items failed, the rest are stored',
  noneStored: 'no item was stored',
  usage:
    'a bad flag or request (one line naming it, `did you mean --count?` or `--source picsum?` for a typo); nothing started',
  error:
    "nothing could run: an unusable variable or bucket, a source that can't be reached (however it was named), a batch that cannot be retried (or whose manifest does not check out) or deleted (it runs); nothing recorded",
  cancelled: 'cancelled with Ctrl-C or SIGTERM',
};

/** The exit codes for `--help`: the same table as the README's. */
export const EXIT_USAGE = `Exit codes:
${(Object.keys(EXIT_MEANINGS) as (keyof typeof EXIT_CODES)[])
  .map((name) => `  ${String(EXIT_CODES[name]).padEnd(5)}${EXIT_MEANINGS[name].replaceAll('`', '')}`)
  .join('\n')}`;

/** The exit code a batch's result calls for. */
export function exitCodeOf(result: Pick<BatchResult, 'status' | 'succeeded' | 'failed'>): number {
  if (result.status === 'cancelled') return EXIT_CODES.cancelled;
  if (result.failed === 0) return EXIT_CODES.stored;
  return result.succeeded === 0 ? EXIT_CODES.noneStored : EXIT_CODES.someFailed;
}
