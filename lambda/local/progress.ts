import type { Progress } from '../function/contracts/result.js';

/**
 * Reports progress: a redrawn bar on a terminal, a plain line every tenth of the way otherwise,
 * nothing at all in `--json` mode (stdout then carries only the result).
 */
export function progressReporter(mode: 'tty' | 'plain' | 'silent', write: (text: string) => void) {
  let lastTenth = 0;
  return {
    update(progress: Progress) {
      if (mode === 'tty') {
        const width = 30;
        const filled = Math.round((progress.done / progress.total) * width);
        const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
        write(`\r[${bar}] ${progress.done}/${progress.total}  stored ${progress.succeeded}  failed ${progress.failed}`);
      } else if (mode === 'plain') {
        const tenth = Math.floor((progress.done / progress.total) * 10);
        if (tenth > lastTenth || progress.done === progress.total) {
          lastTenth = tenth;
          write(`${progress.done}/${progress.total} done (${progress.succeeded} stored, ${progress.failed} failed)\n`);
        }
      }
    },
    finish() {
      if (mode === 'tty') write('\n');
    },
  };
}
