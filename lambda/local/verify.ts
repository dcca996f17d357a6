import { parseArgs } from 'node:util';
import pMap from 'p-map';
import { messageOf, RequestError } from '../function/contracts/errors.js';
import { parseBatchId } from '../function/contracts/request.js';
import { batchPrefix, manifestKey, photoOfKey } from '../function/storage/keys.js';
import { listKeys } from '../function/storage/objects.js';
import { type LocalRuntime, startLocalRuntime } from './setup.js';
import { digestObject, type ObjectDigest } from './stored-object.js';

export const VERIFY_USAGE = `Usage: npm run verify -- BATCH_ID [--json]

Reads every object of the batch back from the bucket (the embedded S3, or BUCKET_NAME and
S3_ENDPOINT when set) and checks its size and sha256 against the manifest. Lists what is missing,
different, or extra (an image no stored item accounts for). Exits 0 when everything matches, 1 when
anything does not, 2 for a bad argument.`;

/** Objects read at once. */
const VERIFY_CONCURRENCY = 16;

export type Verification = {
  batchId: string;
  /** Stored items the manifest lists, each read back. */
  checked: number;
  matching: number;
  /** Stored items whose object is not in the bucket. */
  missing: string[];
  /** Stored items whose object is not what the manifest recorded. */
  different: { key: string; found: ObjectDigest; expected: ObjectDigest }[];
  /** Images in the batch's folder that no stored item accounts for. */
  extra: string[];
};

/** The batch's objects read back against its manifest; undefined when the bucket holds no manifest for it. */
export async function verifyBatch(
  batchId: string,
  runtime: Pick<LocalRuntime, 'config' | 'deps' | 'batches'>,
): Promise<Verification | undefined> {
  const { config, deps } = runtime;
  const manifest = await runtime.batches.records.manifest(batchId);
  if (!manifest) return undefined;
  const stored = manifest.items.flatMap((item) => (item.ok ? [item] : []));
  const found = await pMap(stored, (item) => digestObject(deps.s3, config, item.key), {
    concurrency: VERIFY_CONCURRENCY,
  });
  const result: Verification = { batchId, checked: stored.length, matching: 0, missing: [], different: [], extra: [] };
  stored.forEach((item, i) => {
    const digest = found[i];
    if (digest === undefined) result.missing.push(item.key);
    else if (digest.bytes !== item.bytes || digest.sha256 !== item.sha256) {
      result.different.push({ key: item.key, found: digest, expected: { bytes: item.bytes, sha256: item.sha256 } });
    } else result.matching++;
  });
  const recorded = new Set(stored.map((item) => item.key));
  const images = (await listKeys(deps.s3, config, batchPrefix(config, batchId))).filter(
    // Images directly in the batch's folder; its documents (manifest, report, status, chunks) are not images.
    (key) => photoOfKey(key) !== undefined && key.lastIndexOf('/') === manifestKey(config, batchId).lastIndexOf('/'),
  );
  result.extra = images.filter((key) => !recorded.has(key));
  return result;
}

/** A verification as lines for a person. */
export function verificationText(verification: Verification): string {
  const { batchId, checked, matching, missing, different, extra } = verification;
  const lines = [`Batch ${batchId}: ${matching} of ${checked} stored images match the manifest (size and sha256).`];
  for (const key of missing) lines.push(`missing    ${key}`);
  for (const { key, found, expected } of different) {
    lines.push(
      `different  ${key}: ${found.bytes} bytes, sha256 ${found.sha256.slice(0, 12)}… (manifest: ${expected.bytes} bytes, ${expected.sha256.slice(0, 12)}…)`,
    );
  }
  for (const key of extra) lines.push(`extra      ${key} (no stored item of the manifest accounts for it)`);
  return lines.join('\n');
}

/** `npm run verify -- BATCH_ID [--json]`: 0 when everything matches, 1 when anything does not, 2 for a bad argument. */
export async function verify(
  argv: string[],
  print: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new RequestError(`${messageOf(error)}; npm run verify -- --help`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    print(VERIFY_USAGE);
    return 0;
  }
  const [rawId, ...more] = positionals;
  if (rawId === undefined || more.length > 0) throw new RequestError('Expected one BATCH_ID; npm run verify -- --help');
  const batchId = parseBatchId(rawId, 'BATCH_ID');
  const runtime = await startLocalRuntime({ storageOnly: true, env });
  try {
    const verification = await verifyBatch(batchId, runtime);
    if (!verification) {
      process.stderr.write(`picsum-batch verify: no manifest of batch ${batchId} in bucket ${runtime.config.bucket}\n`);
      return 1;
    }
    print(values.json ? JSON.stringify(verification) : verificationText(verification));
    const { missing, different, extra } = verification;
    return missing.length + different.length + extra.length === 0 ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  verify(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`picsum-batch verify: ${messageOf(error)}\n`);
      process.exit(error instanceof RequestError ? 2 : 1);
    },
  );
}
