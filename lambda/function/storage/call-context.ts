import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions, HttpRequest, Pluggable } from '@smithy/types';

type SignedRequest = Parameters<NodeHttpHandler['handle']>[0];

/**
 * What one S3 call of an item brings that the client's shared middleware cannot know: the item's
 * abort signal, and for a body held whole its SHA-256, already computed for the manifest.
 *
 * Why not `send(command, { abortSignal })`: the SDK resolves a command's middleware stack again on
 * every call given options — per PutObject most of the 185 KB it allocated, and a long run's heap
 * grows with the allocation rate — and each such call also empties the client's cache of resolved
 * stacks (`cacheMiddleware`) for every command type. So no call passes options; what differs per
 * call reaches the middleware and the request handler another way:
 * - a whole-body PutObject, by its body: the one object every step of a call hands on unchanged;
 * - a call with no body of its own (CopyObject) or a stream the SDK may wrap (aws-chunked, on AWS
 *   S3), by the async context of its `send` (AsyncLocalStorage), in which the SDK runs the call.
 *   Only these use it: before Node 24 an AsyncLocalStorage in use makes every promise of the
 *   process a little dearer (8% more CPU per image measured on Node 20 with every call on it).
 * (Middleware added to the client after its first call of a command type would be ignored.)
 */
type CallContext = { signal: AbortSignal; sha256?: string };

const callsByBody = new WeakMap<object, CallContext>();
const callsInContext = new AsyncLocalStorage<CallContext>();

/** Runs `send`, a PutObject of `body`, with `call` attached to that body for as long as it lasts. */
export async function withWholeBodyCall<T>(body: Buffer, call: CallContext, send: () => Promise<T>): Promise<T> {
  callsByBody.set(body, call);
  try {
    return await send();
  } finally {
    callsByBody.delete(body);
  }
}

/** Runs `send` with `call` as the context of the S3 call it makes (a copy, a streamed upload). */
export const withCall = <T>(call: CallContext, send: () => Promise<T>): Promise<T> => callsInContext.run(call, send);

/** The call a request belongs to, by its body or by the async context it is sent in. */
function callOf(body: unknown): CallContext | undefined {
  const byBody = typeof body === 'object' && body !== null ? callsByBody.get(body) : undefined;
  return byBody ?? callsInContext.getStore();
}

/**
 * The abort signal of the S3 call being made with `input`, for a sender other than the SDK's
 * client (a stand-in) to honour as the SDK's handler does.
 */
export const callSignal = (input: { Body?: unknown }): AbortSignal | undefined => callOf(input.Body)?.signal;

/** The SDK's node:http handler, aborting a call on its item's signal. */
export class CallAwareHandler extends NodeHttpHandler {
  override handle(request: SignedRequest, options: HttpHandlerOptions = {}) {
    const call = callOf(request.body);
    return super.handle(request, call === undefined ? options : { ...options, abortSignal: call.signal });
  }
}

/** Signs a body held whole with its known SHA-256 as the payload hash instead of hashing it again. */
export const signKnownPayloadHash: Pluggable<ServiceInputTypes, ServiceOutputTypes> = {
  applyToStack(stack) {
    stack.add(
      (next) => (args) => {
        const request = args.request as HttpRequest;
        const sha256 = callOf(request.body)?.sha256;
        if (sha256 !== undefined) request.headers['x-amz-content-sha256'] = sha256;
        return next(args);
      },
      { step: 'build', name: 'signKnownPayloadHash' },
    );
  },
};
