/**
 * The HTTP transport of `coffer/client`: one `request` function that sends a JSON request
 * with the bearer token and turns every failure into a `CofferError`.
 *
 * - An error answer `{code, message, hint?, requestId}` becomes a CofferError with the same
 *   code and hint, so a front end (the CLI) exits with the same code and shows the same hint
 *   in remote and local mode (an answer without a hint, from an older server, gets the
 *   catalogue's hint for the code; the server's own failures, such as STORE_CORRUPT or
 *   AUDIT_CHAIN_BROKEN, get none, whatever the answer holds: core's SERVER_SIDE_CODES). An answer with a code this
 *   version does not know falls back to the HTTP status (401 UNAUTHENTICATED,
 *   404 SECRET_NOT_FOUND, 409 VERSION_CONFLICT, ...), keeping the error class.
 * - A network failure or time-out becomes SERVER_UNREACHABLE; an answer that is not a JSON
 *   object (a proxy's HTML page, a redirect) becomes SERVER_BAD_RESPONSE.
 * - The token is sent only in the Authorization header. No message is built from anything
 *   but the server's origin, the route, the status and the server's own message, and a
 *   server message that contains the token (or a value the caller marked as secret) is
 *   dropped whole, not patched. Server text is stripped of control characters and cut short.
 * - No retries: check-and-set writes must not be replayed behind the caller's back.
 */

import { AGENT_HEADER } from '../core/access/agent-label.js';
import { CofferError, ERROR_CODES, type ErrorCode, isServerSideCode } from '../core/errors.js';

/** The part of a fetch Response the client reads (global fetch's Response fits). */
export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The request options the client passes (global fetch accepts them). */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  redirect: 'manual';
  signal: AbortSignal;
}

export type FetchFunction = (url: string, init: FetchInit) => Promise<FetchResponse>;

export interface Transport {
  /** The base URL without a trailing slash, e.g. `https://coffer.example.com`. */
  base: string;
  token: string;
  fetch: FetchFunction;
  timeoutMs: number;
  /** Strings no message may contain: the token and its parts. */
  secrets: readonly string[];
  /** The X-Coffer-Agent label, checked. */
  agent?: string | undefined;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** More strings no error message may contain (e.g. the value being stored). */
  secrets?: readonly string[];
}

export type Answer = Record<string, unknown>;

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** The code for an error answer without a code this client knows, by HTTP status. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'SECRET_NOT_FOUND',
  409: 'VERSION_CONFLICT',
  413: 'VALUE_TOO_LARGE',
  415: 'INVALID_ARGUMENT',
  422: 'INVALID_ARGUMENT',
  429: 'RATE_LIMITED',
};

const MAX_MESSAGE = 300;
/** Hints are longer than messages (examples, the commands to run). */
const MAX_HINT = 600;

export function isObject(v: unknown): v is Answer {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Text from the server made safe to show: no control or format characters (bidi overrides,
 * zero widths), at most `max` characters (300), and undefined when empty or when it contains
 * any of `secrets`.
 */
export function safeServerText(
  v: unknown,
  secrets: readonly string[],
  max: number = MAX_MESSAGE,
): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (secrets.some((s) => s !== '' && v.includes(s))) return undefined;
  const clean = v.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').trim();
  if (clean === '') return undefined;
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/**
 * How a failed fetch failed: `timeout` when it was aborted or timed out, else the system
 * error code (global fetch puts it under `cause`; node:http errors carry it themselves).
 */
function failureOf(err: unknown): { timeout: boolean; code: string | undefined } {
  const e = err as { name?: unknown; code?: unknown; cause?: { code?: unknown } } | null;
  const timeout = e?.name === 'TimeoutError' || e?.name === 'AbortError';
  const code = e?.cause?.code ?? e?.code;
  return { timeout, code: typeof code === 'string' ? code : undefined };
}

function unreachable(t: Transport, err: unknown): CofferError {
  const { timeout, code } = failureOf(err);
  if (timeout) {
    return new CofferError(
      'SERVER_UNREACHABLE',
      `no answer from the coffer server at ${t.base} within ${Math.round(t.timeoutMs / 1000)} s`,
    );
  }
  const why = code !== undefined && /^[A-Z_]{2,40}$/.test(code) ? ` (${code})` : '';
  return new CofferError('SERVER_UNREACHABLE', `cannot reach the coffer server at ${t.base}${why}`);
}

/**
 * Socket failures that mean a kept-alive connection was closed by the server while idle (it
 * closes idle connections after a few seconds, and a client may pick the connection just
 * then): the request never reached the server.
 */
const STALE_SOCKET = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

function staleSocket(err: unknown): boolean {
  const { timeout, code } = failureOf(err);
  return !timeout && code !== undefined && STALE_SOCKET.has(code);
}

/**
 * Sends a request; a GET that fails on a closed connection is sent once more (on a new
 * connection), as HTTP clients do for idempotent requests. A write is never resent: the
 * server may have applied it before the connection broke.
 */
async function fetchOnce(t: Transport, url: string, init: FetchInit): Promise<FetchResponse> {
  try {
    return await t.fetch(url, init);
  } catch (err) {
    if (init.method !== 'GET' || !staleSocket(err)) throw err;
    return t.fetch(url, init);
  }
}

/** The CofferError for a non-2xx answer. */
export function errorFromAnswer(
  status: number,
  body: unknown,
  retryAfter: string | null,
  where: string,
  secrets: readonly string[],
): CofferError {
  const b = isObject(body) ? body : {};
  const code: ErrorCode =
    typeof b.code === 'string' && KNOWN_CODES.has(b.code)
      ? (b.code as ErrorCode)
      : (CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'SERVER_BAD_RESPONSE'));
  let message =
    safeServerText(b.message, secrets) ?? `the server answered HTTP ${status} to ${where}`;
  const requestId = safeServerText(b.requestId, secrets);
  if (requestId !== undefined && /^[\w.:-]{1,100}$/.test(requestId)) {
    message += ` (request id ${requestId})`;
  }
  const seconds = retryAfter !== null && /^\d{1,6}$/.test(retryAfter) ? retryAfter : undefined;
  // The server's hint says what to do about its refusal (`Pass --description ...`), as the
  // same refusal says locally; none (an older server) leaves the catalogue's hint for the code.
  // A failure of the server itself (its store, its files) has no hint: the catalogue's
  // (`Restore the vault file from a backup`) is advice for the server's operator, not for
  // this caller, and the message already says the server log has the rest.
  const hint = isServerSideCode(code)
    ? null
    : code === 'RATE_LIMITED' && seconds !== undefined
      ? `Too many failed attempts; retry in ${seconds} s.`
      : safeServerText(b.hint, secrets, MAX_HINT);
  return new CofferError(code, message, { hint });
}

/** Sends one request and returns the answer's JSON object, or throws a CofferError. */
export async function request(
  t: Transport,
  method: string,
  route: string,
  options: RequestOptions = {},
): Promise<Answer> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(options.query ?? {})) {
    if (v !== undefined) params.set(k, String(v));
  }
  const query = params.size > 0 ? `?${params}` : '';
  const where = `${method} ${route}`;
  const headers: Record<string, string> = {
    accept: 'application/json',
    authorization: `Bearer ${t.token}`,
  };
  if (t.agent !== undefined) headers[AGENT_HEADER] = t.agent;
  const init: FetchInit = {
    method,
    headers,
    redirect: 'manual',
    signal: AbortSignal.timeout(t.timeoutMs),
  };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let status: number;
  let text: string;
  let retryAfter: string | null;
  try {
    const res = await fetchOnce(t, `${t.base}${route}${query}`, init);
    status = res.status;
    retryAfter = res.headers.get('retry-after');
    // res.text() drops a byte order mark at the start of the body only; an answer starts
    // with `{`, so a value that begins with U+FEFF keeps it (JSON.parse below).
    text = await res.text();
  } catch (err) {
    throw unreachable(t, err);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (status >= 200 && status < 300) {
    if (isObject(data)) return data;
    throw new CofferError(
      'SERVER_BAD_RESPONSE',
      `the server at ${t.base} answered ${where} with something that is not a coffer answer`,
    );
  }
  if (status >= 300 && status < 400) {
    throw new CofferError(
      'SERVER_BAD_RESPONSE',
      `the server at ${t.base} redirected ${where} (HTTP ${status}); set COFFER_URL to the final address`,
    );
  }
  throw errorFromAnswer(status, data, retryAfter, where, [
    ...t.secrets,
    ...(options.secrets ?? []),
  ]);
}
