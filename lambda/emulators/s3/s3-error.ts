import { XMLBuilder } from 'fast-xml-parser';

/** The statuses S3 answers its error codes with (the subset the embedded S3 uses). */
const STATUS: Record<string, number> = {
  AccessDenied: 403,
  BadDigest: 400,
  EntityTooLarge: 400,
  IncompleteBody: 400,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidRequest: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  // S3 has no code for a full disk (it has none); MinIO answers 507 for the same condition.
  StorageFull: 507,
  XAmzContentSHA256Mismatch: 400,
  InternalError: 500,
};

/** An answer of S3's own: a code from S3's error list, its status, and a message for a person. */
export class S3Error extends Error {
  readonly code: string;
  readonly status: number;
  readonly detail: Record<string, string>;

  constructor(code: keyof typeof STATUS, message: string, detail: Record<string, string> = {}) {
    super(message);
    this.name = 'S3Error';
    this.code = code;
    this.status = STATUS[code] ?? 500;
    this.detail = detail;
  }
}

export const xml = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: false });

/** S3's error document: `<Error><Code>…</Code><Message>…</Message>…</Error>`. */
export const errorDocument = (error: S3Error, resource: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>${xml.build({
    Error: { Code: error.code, Message: error.message, Resource: resource, ...error.detail },
  })}`;
