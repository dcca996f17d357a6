import { parseArgs } from 'node:util';
import { RequestError } from '../errors.js';

export type CliOptions = { input: Record<string, unknown>; source: string | undefined; json: boolean; help: boolean };

const REQUEST_FLAGS = ['count', 'concurrency', 'width', 'height', 'blur', 'format', 'seed'] as const;
const NUMERIC = new Set(['count', 'concurrency', 'width', 'height', 'blur']);

export const USAGE = `Usage: npm start -- [options]

  --count N            images to fetch (default 15)
  --concurrency C      downloads in flight (default DEFAULT_CONCURRENCY, 16)
  --width W            pixels (default 600)
  --height H           pixels (default: the width)
  --grayscale          grayscale images
  --blur B             blur from 1 to 10
  --format jpg|webp    image format (default jpg)
  --seed S             repeatable batch: the same seed fetches the same images
  --source S           picsum, offline, or the URL of a picsum-compatible server
  --json               print only the result, as JSON
  --help               this text`;

/**
 * Turns argv into a request body for parseRequest, which owns every limit. Numbers stay strings
 * unless they are plain integers, so `--count 1e3` is refused by name rather than read as 1000.
 */
export function parseFlags(argv: string[]): CliOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new RequestError((error as Error).message.replace(/\. To specify.*$/s, ''), { code: 'INVALID_FLAG' });
  }
  const { values } = parsed;
  const input: Record<string, unknown> = {};
  for (const name of REQUEST_FLAGS) {
    const value = values[name];
    if (value === undefined) continue;
    input[name] = NUMERIC.has(name) && /^-?\d{1,15}$/.test(value) ? Number(value) : value;
  }
  if (values.grayscale) input.grayscale = true;
  return { input, source: values.source, json: values.json ?? false, help: values.help ?? false };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      count: { type: 'string' },
      concurrency: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      blur: { type: 'string' },
      format: { type: 'string' },
      seed: { type: 'string' },
      grayscale: { type: 'boolean' },
      source: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
