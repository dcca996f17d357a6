import { statfs } from 'node:fs/promises';
import { S3Error } from './s3-error.js';

/** Errors of a disk that cannot take more: no space, or the user's quota reached. */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

/**
 * The part of the disk kept for documents (JSON, HTML: manifests, reports, records), as ext4 keeps
 * blocks for root: when images fill the disk, the batch can still write its manifest, so that
 * what it stored is recorded and a retry can finish it once space is freed. 10% of the disk, at
 * most 64 MiB.
 */
const RESERVE_SHARE = 0.1;
const MAX_RESERVE_BYTES = 64 * 1024 * 1024;
const DOCUMENT_TYPES = /^(application\/json|text\/html)\b/;

/** A write that failed on the disk: a full one is said plainly; anything else stays as it was. */
export function diskError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code && DISK_FULL.has(code)) {
    return new S3Error(
      'StorageFull',
      `The embedded S3's disk is full (${code}): free space under its folder and try again`,
    );
  }
  return error;
}

/** The room left on the disk of `folder` for writes, counting those under way. */
export class DiskRoom {
  readonly #folder: string;
  /** Bytes of writes under way, not yet on the disk's free-space count. */
  #pending = 0;

  constructor(folder: string) {
    this.#folder = folder;
  }

  /**
   * Takes room for a write of `length` bytes of `contentType` before a byte of it is written, or
   * refuses it (StorageFull) when an image would eat into the documents' reserve or anything would
   * not fit. Returns the release, for when the write has landed or failed.
   */
  async take(length: number, contentType: string): Promise<() => void> {
    const disk = await statfs(this.#folder);
    const reserve = DOCUMENT_TYPES.test(contentType)
      ? 0
      : Math.min(MAX_RESERVE_BYTES, disk.blocks * disk.bsize * RESERVE_SHARE);
    // Checked and counted with no await between, so writes racing for the last room cannot all pass.
    if (length + this.#pending > disk.bavail * disk.bsize - reserve) throw diskError({ code: 'ENOSPC' });
    this.#pending += length;
    let held = true;
    return () => {
      if (held) this.#pending -= length;
      held = false;
    };
  }
}
