import { readFile } from 'node:fs/promises';

/** Peak resident memory (VmHWM, MB) of a process, polled from /proc until `exited` settles. */
export async function peakRssMb(pid: number, exited: Promise<unknown>): Promise<number> {
  let peakKb = 0;
  let done = false;
  void exited.then(() => {
    done = true;
  });
  while (!done) {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return peakKb / 1024;
}
