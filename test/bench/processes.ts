import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * Starts a long-running helper (servers.ts) and reads the JSON line it prints once ready; `ask`
 * sends it a line and reads its one-line JSON answer.
 */
export async function startServer<T>(
  args: string[],
): Promise<{ info: T; ask<A>(line: string): Promise<A>; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/servers.ts', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  return {
    info: JSON.parse(line) as T,
    async ask<A>(question: string) {
      const answer = once(lines, 'line') as Promise<[string]>;
      child.stdin.write(`${question}\n`);
      return JSON.parse((await answer)[0]) as A;
    },
    stop: async () => {
      child.stdin.end();
      await once(child, 'exit');
    },
  };
}

/** Runs a command to completion and parses the JSON of its last stdout line. */
export async function runJson<T>(command: string, args: string[]): Promise<T> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`${command} ${args[0] ?? ''} exited with ${code}`);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T;
}
