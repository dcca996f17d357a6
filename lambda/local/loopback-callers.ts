/** The request headers a loopback server judges its caller by. */
type CallerHeaders = { host?: string | undefined; origin?: string | undefined };

/**
 * Why a request to a server of ours on 127.0.0.1 is not from one of its own callers, or undefined.
 * Loopback keeps other machines out, but not a web page open in the developer's browser: it can
 * reach the port through DNS rebinding (a Host that is not ours) or send from another origin.
 * `sameOrigin` lets a server's own pages (an Origin of the server itself) through.
 */
export function foreignCaller(
  headers: CallerHeaders,
  port: number,
  options: { sameOrigin: boolean },
): string | undefined {
  const ours = [`127.0.0.1:${port}`, `localhost:${port}`];
  const host = headers.host?.toLowerCase();
  if (!host || !ours.includes(host)) {
    return `Host ${JSON.stringify(host?.slice(0, 100) ?? '')} is not this server (${ours.join(' or ')})`;
  }
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  if (options.sameOrigin && ours.some((name) => origin.toLowerCase() === `http://${name}`)) return undefined;
  return `Requests from web pages are refused (Origin ${JSON.stringify(origin.slice(0, 100))})`;
}
