import { integerSetting, LIMITS, type Limits, loadConfig, readLimits } from '../lambda/function/contracts/config.js';
import { parseRequest } from '../lambda/function/contracts/request.js';

/**
 * Every setting of a PicsumBatch, with defaults: its props, or for the app CDK context
 * (`-c key=value` or cdk.json) by the same names.
 */
export type StackSettings = {
  /** Throwaway stack: the bucket is destroyed (with its objects) when the stack is. */
  dev: boolean;
  /** `iam` (SigV4-signed calls only) or `none` (anyone with the URL). */
  auth: 'iam' | 'none';
  keyPrefix: string;
  expireDays: number;
  memoryMb: number;
  timeoutSeconds: number;
  /** Undefined: no reservation, the account's pool. */
  reservedConcurrency: number | undefined;
  throttleRate: number;
  throttleBurst: number;
  logRetentionDays: number;
  maxCount: number;
  syncMaxCount: number;
  /** Largest batch one invocation runs; larger ones go to the state machine in chunks of this. */
  chunkSize: number;
  /** Chunks running at once (the Distributed Map's MaxConcurrency). */
  mapConcurrency: number;
  /** Requests in flight on picsum across all chunks of one batch. */
  sourceMaxConcurrency: number;
  /** How long the presigned URLs of the API's `links` stay valid. */
  linkExpirySeconds: number;
  /** Share of chunks that may fail before the map (and the execution) fails. */
  toleratedChunkFailurePercent: number;
  scheduleEnabled: boolean;
  scheduleExpression: string;
  /** The request every scheduled run sends, validated like any other. */
  scheduleRequest: Record<string, unknown>;
  /** Seconds after a scheduled batch ends with failed items before they are retried, once; 0: never. */
  healDelaySeconds: number;
  /** Alarm when more than this share of a period's images fail. */
  failedRatioThreshold: number;
  /** Addresses the alarm topic emails (each confirms its subscription); context: `alarmEmail`, comma-separated. */
  alarmEmails: string[];
  /**
   * API Gateway access and execution logs. They need the account's API Gateway CloudWatch role,
   * set once per account and region outside this construct (see docs/deploy.md), so off by default.
   */
  apiLogs: boolean;
};

type Context = (key: string) => unknown;

/** An integer of the context, by the parser the function reads its environment with. */
const integer = (context: Context, key: string, fallback: number, min: number, max: number): number =>
  integerSetting(context(key), `context \`${key}\``, fallback, min, max);

/** A share from 0 to 1 (the one setting that is not a whole number). */
function share(context: Context, key: string, fallback: number): number {
  const raw = context(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new Error(`Expected context \`${key}\` to be a number from 0 to 1, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function flag(context: Context, key: string, fallback: boolean): boolean {
  const raw = context(key);
  if (raw === undefined) return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new Error(`Expected context \`${key}\` to be true or false, got ${JSON.stringify(raw)}`);
}

function object(context: Context, key: string, fallback: Record<string, unknown>): Record<string, unknown> {
  const raw = context(key);
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' ? JSON.parse(raw) : raw;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`Expected context \`${key}\` to be a JSON object, got ${JSON.stringify(raw)}`);
  }
  return value as Record<string, unknown>;
}

/** `alarmEmails` (a prop's list) or `alarmEmail` (the context's comma-separated addresses). */
function emails(context: Context): string[] {
  const raw = context('alarmEmails') ?? context('alarmEmail');
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : String(raw).split(',');
  const addresses = list.map((address) => String(address).trim()).filter((address) => address !== '');
  const bad = addresses.find((address) => !/^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/.test(address));
  if (bad !== undefined) {
    throw new Error(
      `Expected context \`alarmEmail\` to be email addresses separated by commas, got ${JSON.stringify(bad)}`,
    );
  }
  return addresses;
}

/** The retention periods CloudWatch Logs accepts. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** The limits the function reads from its environment, as the stack sets them: by the function's own table. */
export function functionLimits(settings: StackSettings): Record<string, string> {
  const limits: Limits = { ...settings, mapMaxConcurrency: settings.mapConcurrency };
  return Object.fromEntries(
    (Object.keys(LIMITS) as (keyof Limits)[]).map((name) => [LIMITS[name].env, String(limits[name])]),
  );
}

/** Reads and checks the context; a bad value fails synth with a message naming it. */
export function readSettings(context: Context): StackSettings {
  const auth = context('auth') ?? 'iam';
  if (auth !== 'iam' && auth !== 'none') {
    throw new Error(`Expected context \`auth\` to be "iam" or "none", got ${JSON.stringify(auth)}`);
  }
  // The function's limits, read from the context with the function's own defaults, bounds and parser.
  const limits = readLimits(
    (limit) => context(limit.context),
    (limit) => `context \`${limit.context}\``,
  );
  const settings: StackSettings = {
    dev: flag(context, 'dev', false),
    auth,
    keyPrefix: String(context('keyPrefix') ?? 'images/'),
    expireDays: integer(context, 'expireDays', 30, 1, 3650),
    memoryMb: integer(context, 'memoryMb', 1024, 128, 10_240),
    timeoutSeconds: integer(context, 'timeoutSeconds', 300, 30, 900),
    reservedConcurrency:
      context('reservedConcurrency') === undefined ? undefined : integer(context, 'reservedConcurrency', 0, 1, 1000),
    throttleRate: integer(context, 'throttleRate', 10, 1, 10_000),
    throttleBurst: integer(context, 'throttleBurst', 20, 1, 5_000),
    logRetentionDays: integer(context, 'logRetentionDays', 30, 1, 3653),
    maxCount: limits.maxCount,
    syncMaxCount: limits.syncMaxCount,
    chunkSize: limits.chunkSize,
    mapConcurrency: limits.mapMaxConcurrency,
    sourceMaxConcurrency: limits.sourceMaxConcurrency,
    linkExpirySeconds: limits.linkExpirySeconds,
    toleratedChunkFailurePercent: integer(context, 'toleratedChunkFailurePercent', 10, 0, 100),
    scheduleEnabled: flag(context, 'scheduleEnabled', true),
    scheduleExpression: String(context('scheduleExpression') ?? 'rate(1 day)'),
    scheduleRequest: object(context, 'scheduleRequest', { count: 15, width: 600, height: 400 }),
    healDelaySeconds: integer(context, 'healDelaySeconds', 900, 0, 86_400),
    failedRatioThreshold: share(context, 'failedRatioThreshold', 0.1),
    alarmEmails: emails(context),
    apiLogs: flag(context, 'apiLogs', false),
  };
  if (!RETENTION_DAYS.includes(settings.logRetentionDays)) {
    throw new Error(
      `Expected context \`logRetentionDays\` to be one of ${RETENTION_DAYS.join(', ')}, got ${settings.logRetentionDays}`,
    );
  }
  if (settings.reservedConcurrency !== undefined && settings.mapConcurrency > settings.reservedConcurrency) {
    throw new Error(
      `Expected context \`mapConcurrency\` (${settings.mapConcurrency}) to be at most \`reservedConcurrency\` (${settings.reservedConcurrency}), the workflow function's cap: chunks over it would be throttled`,
    );
  }
  // The scheduled request must pass the function's own validation, with these limits, or every run would fail.
  parseRequest(settings.scheduleRequest, loadConfig(functionLimits(settings)));
  return settings;
}
