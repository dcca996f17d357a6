import { parseArgs } from 'node:util';
import { closest, distance } from 'fastest-levenshtein';
import { RequestError } from '../function/contracts/errors.js';
import { EXIT_USAGE } from './exit-codes.js';

export type CliOptions = {
  input: Record<string, unknown>;
  source: string | undefined;
  json: boolean;
  help: boolean;
  version: boolean;
  /** `npm run invoke` only: the deployed API's URL and its region. */
  url: string | undefined;
  region: string | undefined;
  /** `npm run invoke` only: sent as the Idempotency-Key header, so a repeated command starts nothing new. */
  idempotencyKey: string | undefined;
  /** The batch whose unfinished items to run again (its own request: no request flags with it). */
  retry: string | undefined;
  /** `npm start` only: list the bucket's batches, newest first, a page from `cursor` on. */
  list: boolean;
  /** `npm start` only: the batch to delete, every object of it. */
  delete: string | undefined;
  cursor: string | undefined;
  /** `npm start` only: the folder that receives each batch's own folder of images, manifest and report. */
  out: string | undefined;
};

const REQUEST_FLAGS = ['count', 'concurrency', 'width', 'height', 'blur', 'format', 'seed'] as const;
const NUMERIC = new Set(['count', 'concurrency', 'width', 'height', 'blur']);
/** Flags that belong to one command only. */
const ONLY_FOR = {
  source: 'start',
  out: 'start',
  delete: 'start',
  url: 'invoke',
  region: 'invoke',
  'idempotency-key': 'invoke',
} as const;

const REQUEST_USAGE = `  --count N            images to fetch (default 15)
  --concurrency C      downloads in flight (default DEFAULT_CONCURRENCY, 16)
  --width W            pixels (default 600)
  --height H           pixels (default: the width)
  --grayscale          grayscale images
  --blur B             blur from 1 to 10
  --format jpg|webp    image format (default jpg)
  --seed S             repeatable batch: the same seed fetches the same images
  --distinct           N different photos of picsum's catalog
  --ids 10,237,1084    exactly these photos, in this order (--count defaults to their number)
  --retry BATCH_ID     run a batch's unfinished items again, into the same batch (its own request)
  --json               print only the result, as JSON
  --help               this text
  --version            the version, and the Node.js it runs on`;

export const USAGE = `Usage: npm start -- [options]

${REQUEST_USAGE}
  --source S           picsum, offline, or the URL of a picsum-compatible server
  --out DIR            copy the batch into DIR/BATCH_ID/: its images, manifest.json and report.html
                       (default with the embedded S3: .data/batches)
  --list               the bucket's batches, newest first (20; --cursor C for the page after)
  --delete BATCH_ID    delete every object of a batch that has ended (and its copy under .data/batches)

${EXIT_USAGE}`;

export const INVOKE_USAGE = `Usage: npm run invoke -- --url <ApiUrl> [options]

  --url URL            the stack's ApiUrl output (https://....execute-api.REGION.amazonaws.com/v1/)
  --region R           signing region (default: from the URL, else AWS_REGION)
  --idempotency-key K  run it again with the same K and get the same batch, not a second one
${REQUEST_USAGE}

${EXIT_USAGE}`;

/** Every option of every command, as node:util's parseArgs takes them. */
const OPTIONS = {
  count: { type: 'string' },
  concurrency: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  blur: { type: 'string' },
  format: { type: 'string' },
  seed: { type: 'string' },
  grayscale: { type: 'boolean' },
  distinct: { type: 'boolean' },
  ids: { type: 'string' },
  source: { type: 'string' },
  url: { type: 'string' },
  region: { type: 'string' },
  'idempotency-key': { type: 'string' },
  retry: { type: 'string' },
  out: { type: 'string' },
  list: { type: 'boolean' },
  cursor: { type: 'string' },
  delete: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** The options as typed: `--count`. */
const OPTION_NAMES = Object.keys(OPTIONS).map((name) => `--${name}`);

/**
 * ` (did you mean --count?)` for an unknown option within two edits of a known one (a typo), else
 * where the options are listed.
 */
function suggestion(message: string, command: 'start' | 'invoke'): string {
  const help = `; npm ${command === 'start' ? 'start' : 'run invoke'} -- --help lists the options`;
  const unknown = /Unknown option '(-{1,2}[^']*)'/.exec(message)?.[1];
  const near = unknown === undefined ? undefined : typoOf(unknown, OPTION_NAMES);
  return near === undefined ? help : ` (did you mean ${near}?)`;
}

/** The one of `names` that `value` is a typo of (within two edits), if any. */
function typoOf(value: string, names: readonly string[]): string | undefined {
  const near = closest(value, names as string[]);
  return distance(value, near) <= 2 ? near : undefined;
}

/**
 * Turns argv into a request body for parseRequest, which owns every limit. Numbers stay strings
 * unless they are plain integers, so `--count 1e3` is refused by name rather than read as 1000.
 */
export function parseFlags(argv: string[], command: 'start' | 'invoke' = 'start'): CliOptions {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify.*$/s, '');
    throw new RequestError(`${message}${suggestion(message, command)}`, { code: 'INVALID_FLAG' });
  }
  for (const [flag, owner] of Object.entries(ONLY_FOR)) {
    if (owner !== command && values[flag as keyof typeof ONLY_FOR] !== undefined) {
      throw new RequestError(`Unknown option '--${flag}'`, { code: 'INVALID_FLAG' });
    }
  }
  const input: Record<string, unknown> = {};
  for (const name of REQUEST_FLAGS) {
    const value = values[name];
    if (value === undefined) continue;
    input[name] = NUMERIC.has(name) && /^-?\d{1,15}$/.test(value) ? Number(value) : value;
  }
  if (values.grayscale) input.grayscale = true;
  if (values.distinct) input.distinct = true;
  if (values.ids !== undefined) input.ids = values.ids.split(',').map((id) => id.trim());
  const [requestFlag] = Object.keys(input);
  if (values.list && (requestFlag !== undefined || values.retry !== undefined)) {
    const flag = requestFlag ?? 'retry';
    throw new RequestError(`--list runs no batch; --${flag} cannot go with it`, { code: 'INVALID_FLAG', field: flag });
  }
  if (values.delete !== undefined && (requestFlag !== undefined || values.retry !== undefined || values.list)) {
    const flag = requestFlag ?? (values.retry !== undefined ? 'retry' : 'list');
    throw new RequestError(`--delete runs no batch; --${flag} cannot go with it`, {
      code: 'INVALID_FLAG',
      field: flag,
    });
  }
  if (values.retry !== undefined && requestFlag !== undefined) {
    throw new RequestError(`--retry runs the batch's own request; --${requestFlag} cannot go with it`, {
      code: 'INVALID_FLAG',
      field: requestFlag,
    });
  }
  return {
    input,
    source: values.source === undefined ? undefined : sourceFlag(values.source),
    json: values.json ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
    url: values.url,
    region: values.region,
    idempotencyKey: values['idempotency-key'],
    retry: values.retry,
    out: values.out,
    list: values.list ?? false,
    cursor: values.cursor,
    delete: values.delete,
  };
}

/** The named sources `--source` takes besides a URL. */
const NAMED_SOURCES = ['picsum', 'offline'];

/**
 * `--source` as given: `picsum`, `offline`, or an http(s) URL of a picsum-compatible server; anything
 * else is a usage error (exit 2) with the name it is a typo of, when it is one.
 */
function sourceFlag(value: string): string {
  if (NAMED_SOURCES.includes(value)) return value;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:')) return value;
  const near = typoOf(value, NAMED_SOURCES);
  const hint = near === undefined ? '' : ` (did you mean --source ${near}?)`;
  throw new RequestError(
    `Expected --source to be picsum, offline or an http(s) URL, got ${JSON.stringify(value.slice(0, 80))}${hint}`,
    { code: 'INVALID_FLAG', field: 'source' },
  );
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, strict: true, allowPositionals: false, options: OPTIONS });
}
