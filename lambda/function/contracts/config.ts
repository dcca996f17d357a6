import { ConfigError } from './errors.js';

/** The most chunks one batch is split into: the chunk list travels in Step Functions' 256 KB state. */
export const MAX_CHUNKS = 1000;

/** Everything the function reads from its environment, validated once and frozen. */
export type Config = Readonly<{
  /** Target bucket; empty only where no storage is needed yet (the local CLI fills it in). */
  bucket: string;
  keyPrefix: string;
  /** S3-compatible endpoint (path-style addressing); undefined means AWS S3. */
  s3Endpoint: string | undefined;
  region: string;
  picsumBaseUrl: URL;
  /**
   * Where images come from, as every result and manifest records it: `picsum.photos`, `offline`
   * (the bundled server of placeholders, which only a local run starts), or the source's URL.
   */
  source: string;
  /** host[:port] entries that redirects may go to besides the base host. */
  redirectHosts: readonly string[];
  maxCount: number;
  syncMaxCount: number;
  /** The most images one invocation runs; larger batches are split into chunks of at most this. */
  chunkSize: number;
  /** Chunks running side by side (the Distributed Map's MaxConcurrency). */
  mapMaxConcurrency: number;
  /** Requests in flight on the source across all chunks of one batch. */
  sourceMaxConcurrency: number;
  /** The batch state machine, which runs every batch that does not finish inside its request (deployed only). */
  stateMachineArn: string | undefined;
  /** The `source` of the event each batch puts on EventBridge when it ends; unset: no events. */
  eventSource: string | undefined;
  /** The bus those events go to: `default`, or a name or ARN. */
  eventBusName: string;
  /**
   * A scheduled batch left with failed items retries them once, this long after it ended; 0: at
   * once. Deployed, the state machine's Wait holds it (the stack's `healDelaySeconds`); locally, the
   * engine waits this long instead.
   */
  healDelaySeconds: number;
  /** Whether batches read the source's catalog (`/v2/list`) to choose their photos; off: picsum's own routes. */
  catalog: boolean;
  defaultConcurrency: number;
  maxConcurrency: number;
  maxImageBytes: number;
  /** A body without Content-Length is held whole in memory: at most this many bytes of it. */
  maxUnsizedImageBytes: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** The longest one download attempt may take, body included, however steadily bytes trickle in. */
  attemptTimeoutMs: number;
  /** Tries per item, the first included. */
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** The longest Retry-After we wait for; longer ones fail the item. */
  maxRetryAfterMs: number;
  /** How long the presigned URLs an answer links a finished batch with (`links`) stay valid. */
  linkExpirySeconds: number;
}>;

type Env = Readonly<Record<string, string | undefined>>;

const MB = 1024 * 1024;

/**
 * An integer setting from `min` to `max`, `fallback` when unset or blank; a ConfigError naming it
 * (`label`: the variable, or the stack's context key) otherwise. The function's environment and the
 * stack's context are both read with it.
 */
export function integerSetting(raw: unknown, label: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || String(raw).trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`Expected ${label} to be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** An integer variable of `env`: see integerSetting. */
export const integerVar = (env: Env, name: string, fallback: number, min: number, max: number): number =>
  integerSetting(env[name], name, fallback, min, max);

/** The limits a deployment chooses: the stack passes them to the function's environment. */
export type Limits = Pick<
  Config,
  'maxCount' | 'syncMaxCount' | 'chunkSize' | 'mapMaxConcurrency' | 'sourceMaxConcurrency' | 'linkExpirySeconds'
>;

/** One limit: its variable in the function's environment, its key in the stack's context (and PicsumBatch's props), its bounds. */
type Limit = {
  env: string;
  context: string;
  /** Its default and bounds, given the limits read before it (the table's order). */
  bounds(before: Limits): { fallback: number; min: number; max: number };
};

/**
 * Every limit, defined once, each with its default and bounds: the function reads them from its
 * environment, the stack from its context (checked at synth by the same parser), then writes them
 * into the function's environment (infra/settings.ts).
 */
export const LIMITS: Record<keyof Limits, Limit> = {
  /** The largest batch a request may ask for. */
  maxCount: { env: 'MAX_COUNT', context: 'maxCount', bounds: () => ({ fallback: 100_000, min: 1, max: 100_000 }) },
  /** The largest batch answered inside its request; larger ones run on the state machine. */
  syncMaxCount: {
    env: 'SYNC_MAX_COUNT',
    context: 'syncMaxCount',
    bounds: ({ maxCount }) => ({ fallback: Math.min(100, maxCount), min: 1, max: maxCount }),
  },
  /**
   * The most images one invocation runs; larger batches are split into chunks of at most this. At
   * least SYNC_MAX_COUNT (a synchronous batch is one chunk), and few enough chunks for the map's input.
   */
  chunkSize: {
    env: 'CHUNK_SIZE',
    context: 'chunkSize',
    bounds: ({ maxCount, syncMaxCount }) => ({
      fallback: Math.max(syncMaxCount, Math.min(2000, maxCount)),
      min: Math.max(syncMaxCount, Math.ceil(maxCount / MAX_CHUNKS)),
      max: maxCount,
    }),
  },
  /** Chunks running side by side (the Distributed Map's MaxConcurrency). */
  mapMaxConcurrency: {
    env: 'MAP_MAX_CONCURRENCY',
    context: 'mapConcurrency',
    bounds: () => ({ fallback: 8, min: 1, max: 1000 }),
  },
  /** Requests in flight on the source across all chunks of one batch. */
  sourceMaxConcurrency: {
    env: 'SOURCE_MAX_CONCURRENCY',
    context: 'sourceMaxConcurrency',
    bounds: ({ mapMaxConcurrency }) => ({ fallback: 128, min: mapMaxConcurrency, max: 100_000 }),
  },
  /**
   * Seconds the presigned URLs of an answer's `links` stay valid: an hour, up to the 7 days SigV4
   * allows (a URL signed by a Lambda role's session ends with it, if sooner).
   */
  linkExpirySeconds: {
    env: 'LINK_EXPIRY_S',
    context: 'linkExpirySeconds',
    bounds: () => ({ fallback: 3600, min: 60, max: 604_800 }),
  },
};

/** Reads the limits in the table's order: `raw` gives each one's text, `label` its name in errors. */
export function readLimits(raw: (limit: Limit) => unknown, label: (limit: Limit) => string): Limits {
  const read = {} as { -readonly [K in keyof Limits]: Limits[K] };
  for (const [name, limit] of Object.entries(LIMITS) as [keyof Limits, Limit][]) {
    const { fallback, min, max } = limit.bounds(read);
    read[name] = integerSetting(raw(limit), label(limit), fallback, min, max);
  }
  return read;
}

function urlVar(env: Env, name: string, fallback: string): URL {
  const raw = env[name]?.trim() || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`Expected ${name} to be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`Expected ${name} to be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.username || url.password) {
    // They would be copied into every object's source-url metadata and into logs.
    throw new ConfigError(
      `Expected ${name} without credentials (user:password@), got ${url.protocol}//***@${url.host}`,
    );
  }
  return url;
}

function hostListVar(env: Env, name: string, fallback: string): string[] {
  const raw = env[name] ?? fallback;
  const hosts = raw
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);
  for (const host of hosts) {
    if (!/^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/.test(host)) {
      throw new ConfigError(
        `Expected ${name} to be a comma-separated list of host[:port], got ${JSON.stringify(host)}`,
      );
    }
  }
  return hosts;
}

/** picsum.photos, where images come from unless told otherwise. */
export const PICSUM_URL = 'https://picsum.photos';

/** `picsum.photos` for picsum.photos itself, the URL for any other source. */
const sourceName = (base: URL): string => (base.href === `${PICSUM_URL}/` ? 'picsum.photos' : base.href);

/** `on` or `off` (any case); unset or empty: `fallback`. */
function onOffVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError(`Expected ${name} to be on or off, got ${JSON.stringify(env[name])}`);
}

/**
 * Reads the environment once. Throws a ConfigError naming the variable when a value is unusable,
 * or when BUCKET_NAME is missing and `requireBucket` is set (as it is in Lambda).
 */
export function loadConfig(
  env: Env = process.env,
  options: { requireBucket?: boolean; offlineSource?: boolean } = {},
): Config {
  const bucket = env.BUCKET_NAME?.trim() ?? '';
  if (options.requireBucket && !bucket) throw new ConfigError('BUCKET_NAME is not set');
  const keyPrefix = env.KEY_PREFIX ?? 'images/';
  if (keyPrefix.startsWith('/') || keyPrefix.length > 200) {
    throw new ConfigError(
      `Expected KEY_PREFIX not to start with "/" and to be at most 200 characters, got ${JSON.stringify(keyPrefix)}`,
    );
  }
  const limits = readLimits(
    (limit) => env[limit.env],
    (limit) => limit.env,
  );
  const maxConcurrency = integerVar(env, 'MAX_CONCURRENCY', 64, 1, 1024);
  const retryBaseMs = integerVar(env, 'RETRY_BASE_MS', 200, 1, 60_000);
  const maxImageBytes = integerVar(env, 'MAX_IMAGE_BYTES', 20 * MB, 1, 5 * 1024 * MB);
  const picsumBaseUrl = urlVar(env, 'PICSUM_BASE_URL', PICSUM_URL);
  return Object.freeze({
    bucket,
    keyPrefix,
    s3Endpoint: env.S3_ENDPOINT?.trim() ? urlVar(env, 'S3_ENDPOINT', '').toString() : undefined,
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || 'us-east-1',
    picsumBaseUrl,
    source: options.offlineSource ? 'offline' : sourceName(picsumBaseUrl),
    redirectHosts: Object.freeze(hostListVar(env, 'PICSUM_REDIRECT_HOSTS', 'fastly.picsum.photos')),
    ...limits,
    stateMachineArn: env.STATE_MACHINE_ARN?.trim() || undefined,
    eventSource: env.EVENT_SOURCE?.trim() || undefined,
    eventBusName: env.EVENT_BUS_NAME?.trim() || 'default',
    healDelaySeconds: integerVar(env, 'HEAL_DELAY_S', 0, 0, 86_400),
    catalog: onOffVar(env, 'PICSUM_CATALOG', true),
    defaultConcurrency: integerVar(env, 'DEFAULT_CONCURRENCY', Math.min(16, maxConcurrency), 1, maxConcurrency),
    maxConcurrency,
    maxImageBytes,
    maxUnsizedImageBytes: integerVar(env, 'MAX_UNSIZED_IMAGE_BYTES', Math.min(2 * MB, maxImageBytes), 1, maxImageBytes),
    connectTimeoutMs: integerVar(env, 'SOURCE_CONNECT_TIMEOUT_MS', 5_000, 1, 600_000),
    headersTimeoutMs: integerVar(env, 'SOURCE_HEADERS_TIMEOUT_MS', 10_000, 1, 600_000),
    bodyTimeoutMs: integerVar(env, 'SOURCE_BODY_TIMEOUT_MS', 10_000, 1, 600_000),
    attemptTimeoutMs: integerVar(env, 'SOURCE_ATTEMPT_TIMEOUT_MS', 30_000, 1, 900_000),
    maxAttempts: integerVar(env, 'MAX_ATTEMPTS', 4, 1, 20),
    retryBaseMs,
    retryMaxMs: integerVar(env, 'RETRY_MAX_MS', 5_000, retryBaseMs, 600_000),
    maxRetryAfterMs: integerVar(env, 'MAX_RETRY_AFTER_MS', 20_000, 0, 600_000),
  });
}
