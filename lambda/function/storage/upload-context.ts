/**
 * What one image PutObject carries beyond its input: the SHA-256 already computed for its body and
 * the signal that aborts it. The S3 client caches one middleware stack per command type, which
 * rules out per-call middleware and per-call options; so the client's own middleware and its HTTP
 * handler look these up by the body, which the SDK hands through to the HTTP layer as it is.
 */
export type UploadContext = { sha256: string; signal: AbortSignal };

const contexts = new WeakMap<object, UploadContext>();

/** Registers `body`'s context for the PutObject about to send it; gone with the body. */
export function attachUploadContext(body: Buffer, context: UploadContext): void {
  contexts.set(body, context);
}

export function uploadContextOf(body: unknown): UploadContext | undefined {
  return typeof body === 'object' && body !== null ? contexts.get(body) : undefined;
}
