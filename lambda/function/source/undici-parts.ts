/**
 * The three parts of undici this function uses, imported from their own files. undici's index
 * loads everything (fetch, WebSocket, caches, mocks): half a megabyte that a Lambda would parse on
 * every cold start. These paths are internal to undici 7 (pinned in package.json); the bundle and
 * artifact tests fail if a release moves them.
 */
import type { Agent as AgentType, Dispatcher, errors as ErrorsType } from 'undici';
// @ts-expect-error: as above.
import apiRequest from 'undici/lib/api/api-request.js';
// @ts-expect-error: as above.
import errorClasses from 'undici/lib/core/errors.js';
// @ts-expect-error: undici ships no types for its internal files; the casts below give them undici's own.
import AgentClass from 'undici/lib/dispatcher/agent.js';

export const Agent = AgentClass as typeof AgentType;
export const errors = errorClasses as typeof ErrorsType;

/** undici's `dispatcher.request(options)`: the method lives on undici's index, which is not loaded. */
export function requestOn(
  dispatcher: Dispatcher,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return (apiRequest as (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>).call(
    dispatcher,
    options,
  );
}

/** undici's `request`, on an explicit dispatcher. */
export function request(
  url: URL,
  options: { dispatcher: Dispatcher; method: 'GET'; headers: Record<string, string>; signal: AbortSignal },
): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  return requestOn(dispatcher, { origin: url.origin, path: `${url.pathname}${url.search}`, ...rest });
}
