import type { Config } from '../contracts/config.js';
import { AppError } from '../contracts/errors.js';
import type { BatchRequest } from '../contracts/request.js';
import type { PhotoChoice } from '../source/photo-picks.js';
import type { SourcePool } from '../source/picsum.js';
import type { UrlSigner } from '../storage/presigned-urls.js';
import type { S3Sender } from '../storage/s3-client.js';
import type { BufferPool } from './buffer-pool.js';
import type { PhotoLedger } from './photo-ledger.js';
import type { UploadSlots } from './upload-slots.js';

/** Where errors nobody expected are reported, with their stack (Powertools' Logger, or the console). */
export type ErrorLog = { error(message: string, ...extra: unknown[]): void };

/**
 * Clients shared by every item, created once per process: S3 for records (the SDK retries them) and
 * for images (`transfer`: one attempt a call, the item's own loop retries; see storage/s3-client.ts).
 */
export type Deps = {
  s3: S3Sender;
  transfer: S3Sender;
  source: SourcePool;
  log?: ErrorLog;
  /** Signs GET URLs of the bucket's objects; without it, answers carry no links. */
  signUrl?: UrlSigner;
};

/** Why a run stopped early: its deadline came, or it was cancelled (Ctrl-C, SIGTERM). */
export class RunStopped extends AppError {
  constructor(readonly reason: 'timeout' | 'cancelled') {
    super('RUN_STOPPED', reason === 'timeout' ? 'batch deadline' : 'batch cancelled');
    this.name = 'RunStopped';
  }
}

export type ItemContext = {
  config: Config;
  request: BatchRequest;
  batchId: string;
  deps: Deps;
  /** Bounds bodies held (read or being written), so they wait in sockets instead of memory. */
  uploads: UploadSlots;
  /** Body buffers, reused across the batch's items. */
  buffers: BufferPool;
  /** Aborts (with a RunStopped) at the deadline or on cancellation: no new request, no more waiting. */
  stop: AbortSignal;
  /** Aborts at the deadline only: an upload whose body is whole is not abandoned for a cancellation. */
  deadline: AbortSignal;
  /** Epoch ms of the deadline: no retry is scheduled past it. */
  deadlineAt: number;
  /** Epoch ms the batch started (its first chunk, for a chunked batch): items' timelines count from it. */
  batchStartedAt: number;
  /** The photo each item is, chosen from picsum's catalog (unset: picsum's own routes choose). */
  photos?: ((index: number) => PhotoChoice | undefined) | undefined;
  /** One download per photo: later items of a photo copy the first one's object. */
  ledger?: PhotoLedger | undefined;
};
