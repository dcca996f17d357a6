/**
 * A controller that aborts when `parent` does, with the parent's reason, and can be aborted on its
 * own too (a timeout, a failed source). `unfollow` stops listening: call it once the work is over,
 * so a long-lived parent (the run's stop or deadline signal) keeps no listener per item.
 */
export function followAbort(parent: AbortSignal): { controller: AbortController; unfollow(): void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort);
  if (parent.aborted) onAbort();
  return { controller, unfollow: () => parent.removeEventListener('abort', onAbort) };
}
