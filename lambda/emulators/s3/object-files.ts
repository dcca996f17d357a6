import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DiskRoom, diskError } from './disk-room.js';
import { type ListPage, type ListQuery, listPage } from './list-page.js';
import { S3Error } from './s3-error.js';

/** What S3 keeps beside an object's bytes. */
export type ObjectInfo = {
  key: string;
  size: number;
  /** The MD5 of the bytes, quoted, as S3 gives a single-part object's ETag. */
  etag: string;
  lastModified: string;
  contentType: string;
  /** User metadata (`x-amz-meta-*`), names lower case. */
  metadata: Record<string, string>;
};

/** A write's precondition: `If-None-Match: *` (no object yet) or `If-Match` (still this ETag). */
export type Precondition = { ifNoneMatch?: '*'; ifMatch?: string };

/** The longest key whose file name (base64url, 4 characters for 3 bytes) fits a 255-byte name. */
export const MAX_KEY_BYTES = 189;

/** Temporary files live in the bucket's own folder (one file system, so a rename is atomic). */
const INCOMING = '.incoming';

const fileName = (key: string) => Buffer.from(key, 'utf8').toString('base64url');
const keyOf = (name: string) => Buffer.from(name, 'base64url').toString('utf8');

/**
 * One file per object: its bytes, then its ObjectInfo as JSON, then that JSON's length as 4 bytes.
 * One file means one rename commits an object whole, bytes and metadata together.
 */
const noSuchKey = (key: string) => new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });

const preconditionFailed = (condition: 'If-Match' | 'If-None-Match') =>
  new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    Condition: condition,
  });

async function readInfo(file: FileHandle, key: string): Promise<ObjectInfo> {
  // A file this store did not write (a folder, a stray file) is no object: NoSuchKey, as for none.
  const absent = noSuchKey(key);
  const stat = await file.stat();
  if (!stat.isFile() || stat.size < 4) throw absent;
  const tail = Buffer.alloc(4);
  await file.read(tail, 0, 4, stat.size - 4);
  const length = tail.readUInt32BE(0);
  if (length > stat.size - 4) throw absent;
  const json = Buffer.alloc(length);
  await file.read(json, 0, length, stat.size - 4 - length);
  try {
    const info = JSON.parse(json.toString('utf8')) as ObjectInfo;
    if (info.key === key && info.size === stat.size - 4 - length) return info;
  } catch {
    // Not JSON: not a file of ours.
  }
  throw absent;
}

/**
 * The embedded S3's objects on disk, under `{directory}/{bucket}/`. Each key is stored in a file
 * named by the key's base64url form, so no key, however spelled, names a path: there is no `/`,
 * `.` or `..` in a file name, and nothing is created outside the bucket's folder. Writes go to a
 * file of their own and are renamed into place once whole, as S3 replaces an object whole: a reader
 * gets the old object or the new one. A full disk is answered StorageFull, leaving nothing behind.
 */
export class ObjectFiles {
  readonly folder: string;
  readonly #incoming: string;
  /** Per-key queues: a conditional write's check and its rename happen with no other write between. */
  readonly #locks = new Map<string, Promise<void>>();
  readonly #room: DiskRoom;

  constructor(directory: string, bucket: string) {
    this.folder = join(directory, bucket);
    this.#incoming = join(this.folder, INCOMING);
    this.#room = new DiskRoom(this.folder);
  }

  /** Creates the bucket's folder, and empties what writes cut off by a crash left. */
  async open(): Promise<void> {
    await rm(this.#incoming, { recursive: true, force: true });
    await mkdir(this.#incoming, { recursive: true });
  }

  #path(key: string): string {
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
      throw new S3Error('KeyTooLongError', `The embedded S3 keeps keys up to ${MAX_KEY_BYTES} bytes`);
    }
    return join(this.folder, fileName(key));
  }

  /** The object's info and a stream of its bytes, or NoSuchKey. The version read is the one opened. */
  async get(key: string): Promise<{ info: ObjectInfo; body: Readable }> {
    const file = await this.#open(key);
    try {
      const info = await readInfo(file, key);
      if (info.size === 0) {
        await file.close();
        return { info, body: Readable.from([]) };
      }
      return { info, body: file.createReadStream({ start: 0, end: info.size - 1, autoClose: true }) };
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** The object's info, or NoSuchKey. */
  async head(key: string): Promise<ObjectInfo> {
    const file = await this.#open(key);
    try {
      return await readInfo(file, key);
    } finally {
      await file.close();
    }
  }

  async #open(key: string): Promise<FileHandle> {
    try {
      return await open(this.#path(key), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw noSuchKey(key);
      }
      throw error;
    }
  }

  /**
   * Stores `body` under `key` once all `length` bytes have arrived and match the digests given,
   * and only if `precondition` holds; otherwise nothing changes. Returns the stored info.
   */
  async put(
    key: string,
    body: AsyncIterable<Buffer>,
    options: {
      length: number;
      contentType: string;
      metadata: Record<string, string>;
      precondition?: Precondition;
      /** Hex SHA-256 the bytes must have (a signed `x-amz-content-sha256`). */
      sha256?: string;
      /** Base64 MD5 the bytes must have (`Content-MD5`). */
      md5?: string;
    },
  ): Promise<ObjectInfo> {
    const target = this.#path(key);
    const incoming = join(this.#incoming, randomUUID());
    const release = await this.#room.take(options.length, options.contentType);
    try {
      const { size, md5, sha256 } = await this.#receive(body, incoming);
      if (size !== options.length) {
        throw new S3Error(
          'IncompleteBody',
          'You did not provide the number of bytes specified by the Content-Length HTTP header',
          { NumberBytesExpected: String(options.length), NumberBytesProvided: String(size) },
        );
      }
      if (options.md5 !== undefined && options.md5 !== md5.toString('base64')) {
        throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what was received.');
      }
      if (options.sha256 !== undefined && options.sha256 !== sha256) {
        throw new S3Error(
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
      }
      const info: ObjectInfo = {
        key,
        size,
        etag: `"${md5.toString('hex')}"`,
        lastModified: new Date().toISOString(),
        contentType: options.contentType,
        metadata: options.metadata,
      };
      await this.#appendInfo(incoming, info);
      await this.#exclusive(key, async () => {
        await this.#check(key, options.precondition);
        await rename(incoming, target);
      });
      return info;
    } finally {
      release();
      await rm(incoming, { force: true });
    }
  }

  /**
   * Copies the object at `from` to `to`: with `replacement`'s type and metadata (CopyObject's
   * MetadataDirective REPLACE), else with the source's own.
   */
  async copy(
    from: string,
    to: string,
    replacement?: { contentType: string; metadata: Record<string, string> },
  ): Promise<ObjectInfo> {
    const { info, body } = await this.get(from);
    const { contentType, metadata } = replacement ?? info;
    try {
      return await this.put(to, body, { length: info.size, contentType, metadata });
    } finally {
      // A copy refused before it read the source (no room) still lets go of the source's file.
      body.destroy();
    }
  }

  /** Removes the object, if there is one (S3 answers 204 either way). */
  async delete(key: string): Promise<void> {
    await this.#exclusive(key, () => rm(this.#path(key), { force: true }));
  }

  /** A page of the bucket's keys (see listPage), with each key's info. */
  async list(query: ListQuery): Promise<Omit<ListPage, 'keys'> & { objects: ObjectInfo[] }> {
    // Only files named as this store names keys: not its incoming folder, nor what else the folder
    // holds (an older version's layout of folders, say); head() passes over any other file.
    const names = (await readdir(this.folder, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && fileName(keyOf(entry.name)) === entry.name)
      .map((entry) => entry.name);
    const { keys, ...page } = listPage(names.map(keyOf), query);
    const objects: ObjectInfo[] = [];
    for (const key of keys) {
      // An object deleted since the folder was read is left out, as S3 would.
      const info = await this.#headIfAny(key);
      if (info) objects.push(info);
    }
    return { ...page, objects };
  }

  async #receive(body: AsyncIterable<Buffer>, incoming: string) {
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        sha256.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const file = createWriteStream(incoming, { flags: 'wx' });
    let fileFailed: unknown;
    file.once('error', (error) => {
      fileFailed = error;
    });
    try {
      await pipeline(body, measure, file);
    } catch {
      // The file's failure is the disk's; any other is the body's (the client went away), which
      // the caller's length check answers.
      if (fileFailed !== undefined) throw diskError(fileFailed);
    }
    return { size, md5: md5.digest(), sha256: sha256.digest('hex') };
  }

  async #appendInfo(incoming: string, info: ObjectInfo): Promise<void> {
    const json = Buffer.from(JSON.stringify(info), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(json.length, 0);
    const file = await open(incoming, 'a');
    try {
      await file.write(Buffer.concat([json, length]));
    } catch (error) {
      throw diskError(error);
    } finally {
      await file.close();
    }
  }

  async #check(key: string, precondition: Precondition | undefined): Promise<void> {
    if (!precondition?.ifMatch && !precondition?.ifNoneMatch) return;
    const stored = (await this.#headIfAny(key))?.etag;
    if (precondition.ifNoneMatch === '*' && stored !== undefined) throw preconditionFailed('If-None-Match');
    if (precondition.ifMatch !== undefined) {
      if (stored === undefined) throw noSuchKey(key);
      if (stored.replaceAll('"', '') !== precondition.ifMatch.replaceAll('"', '').trim()) {
        throw preconditionFailed('If-Match');
      }
    }
  }

  /** The object's info, or undefined when there is none. */
  async #headIfAny(key: string): Promise<ObjectInfo | undefined> {
    try {
      return await this.head(key);
    } catch (error) {
      if (error instanceof S3Error && error.code === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async #exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(key) ?? Promise.resolve();
    let release = () => {};
    const mine = before.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.#locks.set(key, mine);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.#locks.get(key) === mine) this.#locks.delete(key);
    }
  }
}
