import type { Config } from '../contracts/config.js';
import { AppError } from '../contracts/errors.js';
import type { BatchResult, ItemOutcome, Manifest, RetryRun } from '../contracts/result.js';
import type { BatchJob } from './batch.js';
import type { BatchRecords } from './batch-records.js';
import { type Execution, executionOf } from './engine.js';
import type { BatchStatus, RunRecord } from './lifecycle.js';
import type { RetryClaim } from './records.js';

/** What asking for a retry came to. */
export type RetryStart =
  /** No such batch. */
  | { kind: 'unknown' }
  /** The batch (or a retry of it) is still accepted or running. */
  | { kind: 'busy'; status: BatchStatus }
  /** The batch's run (or retry run) never finished, and nothing runs it: run `job` again to finish it. */
  | { kind: 'resume'; job: BatchJob }
  /** The batch failed without a manifest: nothing records its items, and no run record keeps its request. */
  | { kind: 'no-manifest'; status: BatchStatus }
  /** The batch was fetched from another source than this run's (`source`): a batch keeps to one. */
  | { kind: 'other-source'; source: string }
  /** Every item is stored: its result as it stands. */
  | { kind: 'nothing'; result: BatchResult }
  /** A retry run is claimed: run `job`. */
  | { kind: 'claimed'; job: BatchJob & { retry: RetryRun } };

/** What claiming needs: the batch's records, and its status as the batch service reads it. */
type Batches = {
  config: Config;
  records: BatchRecords;
  status(batchId: string, manifestOf: () => Promise<Manifest | undefined>): Promise<BatchStatus | undefined>;
  describe(name: string): Promise<Execution | undefined>;
};

/**
 * How long a retry claim with no execution behind it counts as a run getting started: a retry run
 * here writes its run record beside its first images, within moments of its claim.
 */
const CLAIM_GRACE_MS = 60_000;

/** Claims of runs that never got going that a retry skips before giving up. */
const MAX_DEAD_CLAIMS = 20;

/** The items a retry runs again: every item that did not end stored, in index order. */
export const unfinishedIndexes = (items: readonly ItemOutcome[]): number[] =>
  items.flatMap((item) => (item.ok ? [] : [item.index]));

const busyStatus = (batchId: string, manifest: Manifest, claim: RetryClaim): BatchStatus => ({
  batchId,
  status: 'accepted',
  requested: manifest.request.count,
  acceptedAt: claim.claimedAt,
  retry: { run: claim.run, items: claim.indexes.length },
});

/**
 * Claims the batch's next retry run, for its unfinished items: one conditional write, so of two
 * retries asked for at once one runs and the other is told the batch is busy. A claim whose run
 * died before finishing is skipped, and the retry takes the next number.
 */
export async function claimRetry(batchId: string, batches: Batches): Promise<RetryStart> {
  const { config, records } = batches;
  // Read once: the status needs it too when no record says the batch is done.
  const reading = records.manifest(batchId);
  // Awaited below, unless reading the status fails first: never an unhandled rejection.
  reading.catch(() => {});
  // A claim younger than CLAIM_GRACE_MS is a run getting started (it records its status within
  // moments); an older one with no run underway (the status says so) is a run that died.
  const status = await batches.status(batchId, () => reading);
  if (!status) return { kind: 'unknown' };
  if (status.status === 'accepted' || status.status === 'running') return { kind: 'busy', status };
  const manifest = await reading;
  if (status.status === 'unfinished') {
    // Its run record holds what it ran: the batch's request, and which retry run it was.
    const record = (await records.status(batchId)) as RunRecord | undefined;
    // Stryker disable next-line OptionalChaining: equivalent — an unfinished status comes from a run record
    const request = manifest?.request ?? record?.request;
    if (request) return { kind: 'resume', job: { batchId, request, ...(status.retry ? { retry: status.retry } : {}) } };
  }
  if (!manifest) return { kind: 'no-manifest', status };
  const indexes = unfinishedIndexes(manifest.items);
  if (indexes.length === 0) return { kind: 'nothing', result: manifest.result };
  // Placeholders beside real photos would pass for one batch of real ones. (Manifests written before
  // results named their source have none to compare.)
  const { source } = manifest.result;
  if (source !== undefined && source !== config.source) return { kind: 'other-source', source };
  const first = (manifest.result.retries ?? 0) + 1;
  for (let run = first; run < first + MAX_DEAD_CLAIMS; run++) {
    const now = Date.now();
    const claim: RetryClaim = { run, claimedAt: new Date(now).toISOString(), indexes };
    if (await records.claimRetryRun(batchId, claim)) {
      return { kind: 'claimed', job: { batchId, request: manifest.request, retry: { run, items: indexes.length } } };
    }
    const held = await records.retryClaim(batchId, run);
    if (!held) continue;
    // Its execution (a retry too large for one request) says whether it runs; one run here has none,
    // and counts as getting started for a moment after its claim.
    const execution = await batches.describe(executionOf({ batchId, retry: { run, items: held.indexes.length } }));
    if (execution?.status === 'RUNNING' || (!execution && now - Date.parse(held.claimedAt) < CLAIM_GRACE_MS))
      return { kind: 'busy', status: busyStatus(batchId, manifest, held) };
  }
  throw new AppError(
    'TOO_MANY_RETRIES',
    `Batch ${batchId} has ${MAX_DEAD_CLAIMS} retry runs that never finished; not starting another`,
  );
}
