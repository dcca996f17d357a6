import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions, HttpRequest, Pluggable } from '@smithy/types';

type SignedRequest = Parameters<NodeHttpHandler['handle']>[0];

/**
 * What one PutObject of a body held whole brings that the client's shared middleware cannot know:
 * the abort signal of the item it stores, and the body's SHA-256, already computed for the manifest.
 *
 * Why not `send(command, { abortSignal })`: the SDK resolves a command's middleware stack again on
 * every call that passes options, and a per-command middleware does the same; per PutObject that
 * was most of the 185 KB the SDK allocated, and a long run's heap grows with the allocation rate.
 * With `cacheMiddleware` the stack is resolved once per command type, so what differs per call
 * travels with the body: the one object every step of a call hands on unchanged. (A streamed PUT
 * still passes its signal as an option: on AWS S3 its body is wrapped for the checksum trailer, and
 * such calls are few. Middleware added to the client after its first PutObject would be ignored.)
 */
type WholeBodyCall = { signal: AbortSignal; sha256: string };

const callsByBody = new WeakMap<object, WholeBodyCall>();

/** Runs `send` with `call` attached to `body` for as long as the call lasts. */
export async function withWholeBodyCall<T>(body: Buffer, call: WholeBodyCall, send: () => Promise<T>): Promise<T> {
  callsByBody.set(body, call);
  try {
    return await send();
  } finally {
    callsByBody.delete(body);
  }
}

function callOf(request: HttpRequest): WholeBodyCall | undefined {
  return typeof request.body === 'object' && request.body !== null ? callsByBody.get(request.body) : undefined;
}

/** The SDK's node:http handler, aborting a whole-body call on its item's signal. */
export class WholeBodyAwareHandler extends NodeHttpHandler {
  override handle(request: SignedRequest, options: HttpHandlerOptions = {}) {
    const call = callOf(request);
    return super.handle(request, call === undefined ? options : { ...options, abortSignal: call.signal });
  }
}

/** Signs a whole body with its known SHA-256 as the payload hash instead of hashing it again. */
export const signKnownPayloadHash: Pluggable<ServiceInputTypes, ServiceOutputTypes> = {
  applyToStack(stack) {
    stack.add(
      (next) => (args) => {
        const request = args.request as HttpRequest;
        const call = callOf(request);
        if (call !== undefined) request.headers['x-amz-content-sha256'] = call.sha256;
        return next(args);
      },
      { step: 'build', name: 'signKnownPayloadHash' },
    );
  },
};
