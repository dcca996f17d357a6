import pMap from 'p-map';
import * as z from 'zod/mini';
import type { Config } from '../contracts/config.js';
import { RecordError } from '../contracts/errors.js';
import type { BatchDeleted, Manifest } from '../contracts/result.js';
import type { Deps } from '../pipeline/item-context.js';
import {
  batchPrefix,
  chunkKey,
  idempotencyKey,
  isImageKeyOf,
  linkedReportKey,
  manifestKey,
  progressKey,
  progressPrefix,
  reportKey,
  retryClaimKey,
  statusKey,
} from '../storage/keys.js';
import {
  deleteKeys,
  getJson,
  listFolders,
  listKeys,
  listObjects,
  putJson,
  putJsonIfAbsent,
  putText,
} from '../storage/objects.js';
import type { StatusRecord } from './lifecycle.js';
import type { ChunkProgress, ChunkRecord, IdempotencyRecord, RetryClaim } from './records.js';

/** What a manifest must hold for its readers to trust its paths: its batch's id, and each stored item's key in that batch. */
const manifestShape = (batchId: string) =>
  z.looseObject({
    version: z.literal(1),
    batchId: z.literal(batchId),
    result: z.looseObject({ batchId: z.literal(batchId) }),
    items: z.array(
      z.discriminatedUnion('ok', [
        z.looseObject({
          ok: z.literal(true),
          index: z.int().check(z.nonnegative()),
          key: z.string(),
          sha256: z.string(),
        }),
        z.looseObject({ ok: z.literal(false), index: z.int().check(z.nonnegative()) }),
      ]),
    ),
  });

function checkedManifest(value: unknown, batchId: string, config: Config, key: string): Manifest {
  const where = `s3://${config.bucket}/${key}`;
  const parsed = manifestShape(batchId).safeParse(value);
  if (!parsed.success) {
    const { issues } = parsed.error;
    const problems = issues.map((issue) => `\`${issue.path.join('.')}\` ${issue.message}`);
    const field = issues.map((issue) => issue.path.join('.')).join(', ');
    throw new RecordError(`${where} does not check out: ${problems.join('; ')}`, { field });
  }
  parsed.data.items.forEach((item, i) => {
    if (item.ok && !isImageKeyOf(config, batchId, item.key)) {
      throw new RecordError(
        `${where} does not check out: \`items.${i}.key\` ${JSON.stringify(item.key.slice(0, 200))} is not an image of batch ${batchId}`,
        { field: `items.${i}.key` },
      );
    }
  });
  return value as Manifest;
}

/**
 * A batch's records in the bucket, by what they are rather than where: its status, manifest and
 * report, its retry claims, its chunks' records and progress, and the Idempotency-Keys that name
 * batches. The key layout stays in storage/keys.ts; every read and write of a record goes here.
 */
export class BatchRecords {
  private readonly config: Config;
  private readonly s3: Deps['s3'];

  constructor(options: { config: Config; deps: Pick<Deps, 's3'> }) {
    this.config = options.config;
    this.s3 = options.deps.s3;
  }

  /** The batch's own status record, as last written (not merged with its manifest or execution: see BatchService.status). */
  status(batchId: string): Promise<StatusRecord | undefined> {
    return getJson<StatusRecord>(this.s3, this.config, statusKey(this.config, batchId));
  }

  putStatus(status: StatusRecord): Promise<void> {
    return putJson(this.s3, this.config, statusKey(this.config, status.batchId), status);
  }

  /**
   * The batch's manifest: the one record of every item once it ran (or a retry of it did). One that
   * names another batch, or an image outside this batch's folder, is a RecordError naming the field:
   * its readers write files named after its keys, and retries into the batch it names.
   */
  async manifest(batchId: string): Promise<Manifest | undefined> {
    const key = manifestKey(this.config, batchId);
    const manifest = await getJson<unknown>(this.s3, this.config, key);
    return manifest === undefined ? undefined : checkedManifest(manifest, batchId, this.config, key);
  }

  putManifest(manifest: Manifest): Promise<void> {
    return putJson(this.s3, this.config, manifestKey(this.config, manifest.batchId), manifest);
  }

  putReport(batchId: string, html: string): Promise<void> {
    return putText(this.s3, this.config, reportKey(this.config, batchId), html, 'text/html; charset=utf-8');
  }

  /** Writes the report whose links are presigned (see BatchService.links). */
  putLinkedReport(batchId: string, html: string): Promise<void> {
    return putText(this.s3, this.config, linkedReportKey(this.config, batchId), html, 'text/html; charset=utf-8');
  }

  /**
   * Deletes every object of the batch's folder: its images, then its documents, the manifest and
   * status last, so that a delete cut short still lists the batch, and a repeat finishes it.
   * Answers what it removed (nothing, for a batch already gone).
   */
  async deleteBatch(batchId: string): Promise<BatchDeleted['deleted']> {
    const objects = await listObjects(this.s3, this.config, batchPrefix(this.config, batchId));
    const last = new Set([manifestKey(this.config, batchId), statusKey(this.config, batchId)]);
    const keys = objects.map((object) => object.key);
    for (const group of [keys.filter((key) => !last.has(key)), keys.filter((key) => last.has(key))]) {
      await deleteKeys(this.s3, this.config, group);
    }
    const images = keys.filter((key) => isImageKeyOf(this.config, batchId, key)).length;
    const bytes = objects.reduce((sum, object) => sum + object.size, 0);
    return { images, documents: keys.length - images, bytes };
  }

  retryClaim(batchId: string, run: number): Promise<RetryClaim | undefined> {
    return getJson<RetryClaim>(this.s3, this.config, retryClaimKey(this.config, batchId, run));
  }

  /** Writes a retry run's claim unless that run is claimed already: false when another claim came first. */
  claimRetryRun(batchId: string, claim: RetryClaim): Promise<boolean> {
    return putJsonIfAbsent(this.s3, this.config, retryClaimKey(this.config, batchId, claim.run), claim);
  }

  chunk(batchId: string, chunk: number, retry: number | undefined): Promise<ChunkRecord | undefined> {
    return getJson<ChunkRecord>(this.s3, this.config, chunkKey(this.config, batchId, chunk, retry));
  }

  putChunk(batchId: string, record: ChunkRecord): Promise<void> {
    const { chunk, retry } = record.summary;
    return putJson(this.s3, this.config, chunkKey(this.config, batchId, chunk, retry), record);
  }

  /** Every chunk's progress record of the run (the batch's first, or retry run `retry`). */
  async progress(batchId: string, retry: number | undefined): Promise<(ChunkProgress | undefined)[]> {
    const keys = await listKeys(this.s3, this.config, progressPrefix(this.config, batchId, retry));
    return pMap(keys, (key) => getJson<ChunkProgress>(this.s3, this.config, key), { concurrency: 16 });
  }

  putProgress(batchId: string, retry: number | undefined, progress: ChunkProgress): Promise<void> {
    return putJson(this.s3, this.config, progressKey(this.config, batchId, progress.chunk, retry), progress);
  }

  idempotency(keySha256: string): Promise<IdempotencyRecord | undefined> {
    return getJson<IdempotencyRecord>(this.s3, this.config, idempotencyKey(this.config, keySha256));
  }

  /** Binds an Idempotency-Key (by its hash) to a batch unless it is bound already: false when it is. */
  claimIdempotency(keySha256: string, record: IdempotencyRecord): Promise<boolean> {
    return putJsonIfAbsent(this.s3, this.config, idempotencyKey(this.config, keySha256), record);
  }

  /** The names of the folders under the key prefix: every batch's id, and whatever else is there. */
  folders(): Promise<string[]> {
    return listFolders(this.s3, this.config, this.config.keyPrefix);
  }

  /** How many images the batch's folder holds, recorded or not. */
  async imageCount(batchId: string): Promise<number> {
    const keys = await listKeys(this.s3, this.config, batchPrefix(this.config, batchId));
    return keys.filter((key) => isImageKeyOf(this.config, batchId, key)).length;
  }

  /** How many objects the batch's folder holds, whatever they are. */
  async objectCount(batchId: string): Promise<number> {
    return (await listKeys(this.s3, this.config, batchPrefix(this.config, batchId))).length;
  }
}
