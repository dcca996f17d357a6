import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { XMLParser } from 'fast-xml-parser';
import type { ObjectFiles, ObjectInfo } from './object-files.js';
import { targetOf } from './own-callers-only.js';
import { S3Error, xml } from './s3-error.js';
import type { SignedPayload } from './signature-check.js';

/** S3's limit on user metadata: names and values together, in bytes. */
const MAX_METADATA_BYTES = 2048;
const MAX_KEYS = 1000;
const NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** A request the door and the signature check let through, for the one bucket. */
export type BucketRequest = {
  req: IncomingMessage;
  res: ServerResponse;
  /** The decoded key, or undefined for the bucket itself. */
  key: string | undefined;
  query: URLSearchParams;
  payload: SignedPayload;
};

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/** `x-amz-meta-*` headers as S3 keeps them, within S3's 2 KB. */
function userMetadata(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : value;
    const short = name.slice('x-amz-meta-'.length);
    bytes += Buffer.byteLength(short) + Buffer.byteLength(text);
    metadata[short] = text;
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new S3Error(
      'MetadataTooLarge',
      `Your metadata headers exceed the maximum allowed metadata size (${MAX_METADATA_BYTES} bytes)`,
    );
  }
  return metadata;
}

function objectHeaders(info: ObjectInfo): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'content-type': info.contentType,
    'content-length': info.size,
    etag: info.etag,
    'last-modified': new Date(info.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
  };
  for (const [name, value] of Object.entries(info.metadata)) headers[`x-amz-meta-${name}`] = value;
  return headers;
}

const sendXml = (res: ServerResponse, status: number, document: unknown) => {
  const body = `<?xml version="1.0" encoding="UTF-8"?>${xml.build(document)}`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

/** PutObject, and CopyObject when `x-amz-copy-source` names one of the bucket's objects. */
async function putObject(files: ObjectFiles, request: BucketRequest, key: string, bucket: string): Promise<void> {
  const { req, res, query } = request;
  if (query.has('uploadId') || query.has('partNumber')) {
    throw new S3Error('NotImplemented', 'The embedded S3 does not take multipart uploads');
  }
  const contentType = header(req, 'content-type') ?? 'binary/octet-stream';
  const metadata = userMetadata(req);
  const copySource = header(req, 'x-amz-copy-source');
  if (copySource !== undefined) {
    const source = decodeURIComponent(copySource.split('?')[0] ?? '').replace(/^\//, '');
    if (!source.startsWith(`${bucket}/`))
      throw new S3Error('AccessDenied', `The embedded S3 copies only within ${bucket}`);
    const from = source.slice(bucket.length + 1);
    const replace = header(req, 'x-amz-metadata-directive') === 'REPLACE';
    const info = await files.copy(from, key, replace ? { contentType, metadata } : undefined);
    sendXml(res, 200, { CopyObjectResult: { ETag: info.etag, LastModified: info.lastModified } });
    return;
  }
  const length = Number(header(req, 'content-length'));
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }
  const ifNoneMatch = header(req, 'if-none-match')?.trim();
  const ifMatch = header(req, 'if-match')?.trim();
  if (ifNoneMatch !== undefined && ifNoneMatch !== '*') {
    throw new S3Error('NotImplemented', 'A write takes If-None-Match only as *');
  }
  const md5 = header(req, 'content-md5');
  const info = await files.put(key, req.iterator({ destroyOnReturn: false }), {
    length,
    contentType,
    metadata,
    precondition: { ...(ifNoneMatch ? { ifNoneMatch: '*' as const } : {}), ...(ifMatch ? { ifMatch } : {}) },
    ...(request.payload.sha256 ? { sha256: request.payload.sha256 } : {}),
    ...(md5 ? { md5 } : {}),
  });
  res.writeHead(200, { etag: info.etag, 'content-length': 0 });
  res.end();
}

/** The largest DeleteObjects body read: 1,000 keys of S3's 1,024 bytes each, in their XML. */
const MAX_DELETE_BODY_BYTES = 2 * 1024 * 1024;

/**
 * DeleteObjects (`POST /{bucket}?delete`): up to 1,000 keys, each deleted as DeleteObject deletes it
 * (a key never there is deleted all the same), answered per key. The body is read whole, within its
 * bound, and must be what the signature says it is (its SHA-256) or what Content-MD5 says.
 */
async function deleteObjects(files: ObjectFiles, request: BucketRequest): Promise<void> {
  const { req, res, payload } = request;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DELETE_BODY_BYTES) throw new S3Error('MalformedXML', 'The DeleteObjects body is too large');
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const md5 = header(req, 'content-md5');
  if (payload.sha256 !== undefined && createHash('sha256').update(body).digest('hex') !== payload.sha256) {
    throw new S3Error('XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 does not match the body');
  }
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received');
  }
  let parsed: { Delete?: { Object?: { Key?: unknown } | { Key?: unknown }[]; Quiet?: unknown } };
  try {
    parsed = new XMLParser({ parseTagValue: false }).parse(body.toString('utf8'));
  } catch {
    throw new S3Error('MalformedXML', 'The XML you provided was not well-formed');
  }
  const objects = [parsed.Delete?.Object ?? []].flat();
  const keys = objects.map((object) => object.Key);
  if (!parsed.Delete || keys.length === 0 || keys.length > MAX_KEYS || !keys.every((key) => typeof key === 'string')) {
    throw new S3Error('MalformedXML', `A DeleteObjects body names 1 to ${MAX_KEYS} keys`);
  }
  const deleted: { Key: string }[] = [];
  const errors: { Key: string; Code: string; Message: string }[] = [];
  for (const key of keys as string[]) {
    try {
      // Each key by the path rules a single request's key meets (no . or .. segment, no NUL).
      targetOf(`/bucket/${encodeURIComponent(key)}`);
      await files.delete(key);
      deleted.push({ Key: key });
    } catch (error) {
      const refusal = error instanceof S3Error ? error : new S3Error('InternalError', (error as Error).message);
      errors.push({ Key: key, Code: refusal.code, Message: refusal.message });
    }
  }
  const quiet = String(parsed.Delete.Quiet) === 'true';
  sendXml(res, 200, {
    DeleteResult: { '@_xmlns': NAMESPACE, ...(quiet ? {} : { Deleted: deleted }), Error: errors },
  });
}

/** ListObjects (v1) and ListObjectsV2 (`list-type=2`), with prefix, delimiter and paging. */
async function listObjects(files: ObjectFiles, request: BucketRequest, bucket: string): Promise<void> {
  const { query, res } = request;
  const v2 = query.get('list-type') === '2';
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') || undefined;
  const requested = query.has('max-keys') ? Number(query.get('max-keys')) : MAX_KEYS;
  if (!Number.isInteger(requested) || requested < 0)
    throw new S3Error('InvalidArgument', 'max-keys must be a whole number');
  const maxKeys = Math.min(requested, MAX_KEYS);
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after') ?? undefined;
  const after = v2
    ? token !== null
      ? Buffer.from(token, 'base64url').toString('utf8')
      : startAfter
    : (query.get('marker') ?? undefined);
  const page = await files.list({ prefix, maxKeys, ...(delimiter ? { delimiter } : {}), ...(after ? { after } : {}) });
  const url = query.get('encoding-type') === 'url';
  const name = (text: string) => (url ? encodeURIComponent(text).replaceAll('%2F', '/') : text);
  const contents = page.objects.map((info) => ({
    Key: name(info.key),
    LastModified: info.lastModified,
    ETag: info.etag,
    Size: info.size,
    StorageClass: 'STANDARD',
  }));
  const common = page.commonPrefixes.map((Prefix) => ({ Prefix: name(Prefix) }));
  const next = page.truncated && page.last !== undefined ? page.last : undefined;
  sendXml(res, 200, {
    ListBucketResult: {
      '@_xmlns': NAMESPACE,
      Name: bucket,
      Prefix: name(prefix),
      ...(delimiter ? { Delimiter: name(delimiter) } : {}),
      MaxKeys: maxKeys,
      ...(url ? { EncodingType: 'url' } : {}),
      IsTruncated: page.truncated,
      ...(v2
        ? {
            KeyCount: contents.length + common.length,
            ...(token !== null ? { ContinuationToken: token } : {}),
            ...(startAfter !== undefined ? { StartAfter: name(startAfter) } : {}),
            ...(next !== undefined ? { NextContinuationToken: Buffer.from(next).toString('base64url') } : {}),
          }
        : { Marker: name(after ?? ''), ...(next !== undefined && delimiter ? { NextMarker: name(next) } : {}) }),
      Contents: contents,
      CommonPrefixes: common,
    },
  });
}

/**
 * Answers a request for the one bucket: the S3 subset the project uses (PutObject with its
 * conditions, CopyObject, GetObject, HeadObject, DeleteObject, DeleteObjects, ListObjects v1 and v2), and HEAD of
 * the bucket. Everything else is refused, deleting the bucket first of all.
 */
export async function answerBucketRequest(files: ObjectFiles, request: BucketRequest, bucket: string): Promise<void> {
  const { req, res, key } = request;
  const method = req.method ?? '';
  if (key === undefined) {
    if (method === 'GET') return listObjects(files, request, bucket);
    if (method === 'POST' && request.query.has('delete')) return deleteObjects(files, request);
    if (method === 'HEAD') {
      res.writeHead(200, { 'content-length': 0 });
      res.end();
      return;
    }
    throw new S3Error('MethodNotAllowed', `The embedded S3 does not ${method} its bucket`);
  }
  if (method === 'PUT') return putObject(files, request, key, bucket);
  if (method === 'GET') {
    const { info, body } = await files.get(key);
    res.writeHead(200, objectHeaders(info));
    // A reader that goes away mid-body ends the copy; there is no one left to answer.
    await pipeline(body, res).catch(() => {});
    return;
  }
  if (method === 'HEAD') {
    res.writeHead(200, objectHeaders(await files.head(key)));
    res.end();
    return;
  }
  if (method === 'DELETE') {
    await files.delete(key);
    res.writeHead(204);
    res.end();
    return;
  }
  throw new S3Error('MethodNotAllowed', `The embedded S3 does not ${method} an object`);
}
