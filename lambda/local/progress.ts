import type { Progress } from '../function/contracts/result.js';

/** Seconds as a person reads them: `42 s`, `3 min 20 s`. */
function duration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  return whole < 60 ? `${whole} s` : `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/**
 * The progress line: items finished of the total, stored and failed, the rate so far and the time
 * left at that rate. Cancelled items are counted apart and not as finished, so a cancelled run
 * reads `120/400` with `cancelled 280`, never 400/400.
 */
export function progressLine(progress: Progress, elapsedMs: number): string {
  const cancelled = progress.cancelled ?? 0;
  const finished = progress.done - cancelled;
  const rate = elapsedMs > 0 ? (finished * 1000) / elapsedMs : 0;
  const counts = `${finished}/${progress.total} done  stored ${progress.succeeded}  failed ${progress.failed - cancelled}`;
  if (cancelled > 0) return `${counts}  cancelled ${cancelled}`;
  const left = progress.total - progress.done;
  const eta = left === 0 ? '' : rate > 0 ? `  ETA ${duration(left / rate)}` : '  ETA --';
  return `${counts}  ${rate.toFixed(1)}/s${eta}`;
}

/**
 * Reports progress: a redrawn bar on a terminal, a plain line every tenth of the way otherwise,
 * nothing at all in `--json` mode (stdout then carries only the result).
 */
export function progressReporter(mode: 'tty' | 'plain' | 'silent', write: (text: string) => void, now = Date.now) {
  const startedAt = now();
  let lastTenth = 0;
  return {
    update(progress: Progress) {
      const line = progressLine(progress, now() - startedAt);
      if (mode === 'tty') {
        const width = 30;
        const finished = progress.done - (progress.cancelled ?? 0);
        const filled = Math.round((finished / progress.total) * width);
        write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}\x1b[K`);
      } else if (mode === 'plain') {
        const tenth = Math.floor((progress.done / progress.total) * 10);
        if (tenth > lastTenth || progress.done === progress.total) {
          lastTenth = tenth;
          write(`${line}\n`);
        }
      }
    },
    finish() {
      if (mode === 'tty') write('\n');
    },
  };
}
