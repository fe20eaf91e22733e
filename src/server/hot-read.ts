/**
 * The server's hot route on node:http directly: `GET /v1/secrets/{scope}/{group}/{name}`,
 * the request a busy server answers most (CI jobs, deploy scripts and services reading
 * their secrets).
 *
 * Through hono and its node adapter such a read spent more CPU on request and response
 * objects, middleware and routing than on the token check, the decryption and its audit
 * record together. So `hotSecretRead` answers a read that is plainly valid itself, and hands
 * everything else to the app. It takes a request only when the app would answer it the same
 * way:
 * - GET, exactly three path segments after `/v1/secrets/`, nothing to decode (no `%`, no
 *   `#`), and a key path the core grammar accepts as written;
 * - a query the route's own schema accepts (GetQuery, parsed as the app parses it);
 * - a Host header (http-server.ts has refused an invalid one before either path runs);
 * - a bearer token whose record is cached and which is valid now (TokenAuthenticator.cached),
 *   which the app serves whether or not the client address is rate-limited;
 * - a token whose policy allows reading that path in that environment.
 * None of these checks counts, audits or logs anything, so a request that fails one is
 * handed to the app untouched, which answers (and counts, audits and logs) it like any other:
 * every refusal has one implementation, the app's.
 *
 * A request it takes is read through the app's own batcher (so both share commits and the
 * audit guarantee of ReadBatcher), answered with the body, status and headers the app gives
 * (`content-type`, `x-request-id`; errors of the read itself, such as no such secret or
 * version, through the same error table) and logged with the same line. hot-read.test.ts
 * sends the same requests with and without the hot path and compares answers, audit records
 * and log lines.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AGENT_HEADER } from '../core/access/agent-label.js';
import { copySecretValue, type ReadRequest } from '../core/store/vault.js';
import type { TokenAuthenticator } from './auth.js';
import type { ClientAddresses } from './client-address.js';
import { errorResponse } from './error-response.js';
import { elapsedMs, errorFields, type RequestLine } from './logger.js';
import type { ReadBatcher } from './read-batcher.js';
import { parseQuery } from './route.js';
import { keyTarget, SECRET_ROUTE } from './routes/secrets-route.js';
import { GetQuery } from './schemas.js';

/** Answers a request and returns true, or returns false and leaves it to the app. */
export type HotPath = (incoming: IncomingMessage, outgoing: ServerResponse) => boolean;

export interface HotReadDeps {
  authenticator: TokenAuthenticator;
  addresses: ClientAddresses;
  batcher: ReadBatcher;
  log: (line: RequestLine) => void;
  newId: () => string;
}

const PREFIX = '/v1/secrets/';

/** What a request target names: a key path, environment and version the app accepts. */
interface PlainTarget {
  path: string;
  env: string;
  version: number | undefined;
  /** The policy's target for this read (made once: a spread per request is slow). */
  check: { path: string; env: string; values: true };
}

/** Request targets (path and query) seen, up to this many, parsed once (see plainTarget). */
const TARGET_CACHE_SIZE = 1024;

/**
 * The key path, environment and version of a request target (`/v1/secrets/...?...`) when
 * the app would route it to the read and accept its path and query; else undefined. A pure
 * function of the string, so successes are remembered: clients ask for the same few targets.
 */
function plainTarget(url: string, cache: Map<string, PlainTarget>): PlainTarget | undefined {
  const hit = cache.get(url);
  if (hit !== undefined) return hit;
  if (url.includes('#')) return undefined;
  const q = url.indexOf('?');
  const raw = url.slice(PREFIX.length, q < 0 ? undefined : q);
  if (raw.includes('%')) return undefined;
  let target: PlainTarget;
  try {
    const query = GetQuery.safeParse(parseQuery(q < 0 ? '' : url.slice(q + 1)));
    if (!query.success) return undefined;
    const { path, env } = keyTarget(raw, query.data.env);
    if (path !== raw) return undefined;
    target = {
      path,
      env: env!,
      version: query.data.version,
      check: { path, env: env!, values: true },
    };
  } catch {
    return undefined;
  }
  if (cache.size >= TARGET_CACHE_SIZE) cache.clear();
  cache.set(url, target);
  return target;
}

/** The read a request asks for, when the app would serve it (see above); else undefined. */
function plainRead(
  url: string,
  incoming: IncomingMessage,
  deps: HotReadDeps,
  cache: Map<string, PlainTarget>,
): { read: ReadRequest; address: string } | undefined {
  const target = plainTarget(url, cache);
  if (target === undefined || incoming.headers.host === undefined) return undefined;
  const policy = deps.authenticator.cached(incoming.headers.authorization);
  // A refusal (a token that may not reveal values included) and a request that names its
  // agent (X-Coffer-Agent, checked and recorded by the app) go the app's way.
  if (incoming.headers[AGENT_HEADER] !== undefined) return undefined;
  if (policy === undefined || policy.refusal('read', target.check) !== undefined) {
    return undefined;
  }
  const address = deps.addresses.of(
    incoming.socket.remoteAddress,
    incoming.headers['x-forwarded-for'],
  );
  const { path, env, version } = target;
  return { read: { path, env, version, actor: `token:${policy.name}@${address}` }, address };
}

export function hotSecretRead(deps: HotReadDeps): HotPath {
  const targets = new Map<string, PlainTarget>();
  return (incoming, outgoing) => {
    const url = incoming.url;
    if (incoming.method !== 'GET' || url === undefined || !url.startsWith(PREFIX)) return false;
    const started = performance.now();
    const plain = plainRead(url, incoming, deps, targets);
    if (plain === undefined) return false;
    const { read, address } = plain;
    const requestId = deps.newId();
    const answer = (status: number, text: string, error?: unknown): void => {
      outgoing.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'x-request-id': requestId,
      });
      outgoing.end(text);
      deps.log({
        reqId: requestId,
        addr: address,
        method: 'GET',
        route: SECRET_ROUTE,
        status,
        ms: elapsedMs(started),
        ...(error !== undefined ? errorFields(error) : {}),
      });
    };
    deps.batcher.read(read).then(
      (value) => answer(200, JSON.stringify(copySecretValue(value))),
      (err: unknown) => {
        const e = errorResponse(err, requestId);
        answer(e.status, JSON.stringify(e.body), err);
      },
    );
    return true;
  };
}
