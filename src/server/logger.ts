/**
 * The server's log: pino, one JSON line per request on stderr.
 *
 * A request line has the request id, client address, method, route pattern (`/v1/secrets/{scope}/{group}/
 * {name}`, never the raw path: a key path is not a secret, but a mistaken client may put a
 * value where a path goes), status, duration in ms and, for an error, its code. Never a
 * header, a token, a query string, a body or a value: nothing here reads them. An error that
 * is not a CofferError is logged by class name only; its message could quote anything.
 *
 * stderr is written asynchronously and in blocks (line-sink.ts: 4 KiB, or 100 ms after the
 * first waiting line; flushed on shutdown, at exit and by `flush()`), so a busy server does
 * not make one write per request.
 *
 * The request line has a fixed shape, so it is formatted here and written to the logger's
 * own stream (through `pino.symbols`), with the logger's level number, time format and
 * bindings: the same line pino would write, in a fifth of the time (pino's generic
 * serializer was a tenth of the server's CPU per request). Every other line goes through
 * pino.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import pino, { type DestinationStream, type Logger } from 'pino';
import { CofferError } from '../core/errors.js';
import type { AppEnv } from './context.js';
import { serverSideDetail } from './error-response.js';
import { LineSink } from './line-sink.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** pino level (default `info`; `silent` turns logging off). */
  level?: string;
  /** Where lines go (default: stderr, asynchronously). */
  destination?: DestinationStream;
}

let lastMs = -1;
let lastTime = '';

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`), made once per millisecond: a busy server logs
 * many lines in the same one.
 */
function isoTime(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastTime = `,"time":"${new Date(ms).toISOString()}"`;
  }
  return lastTime;
}

/** stderr as a LineSink, flushed when the process exits. */
function stderrSink(): LineSink {
  const sink = new LineSink(2);
  process.once('exit', () => sink.flushSync());
  return sink;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'coffer' },
      timestamp: isoTime,
    },
    options.destination ?? stderrSink(),
  );
}

/** What may be logged of an error: its code, or the class name of an unexpected one. */
export function errorFields(err: unknown): {
  code: string;
  errorClass?: string;
  detail?: string;
} {
  if (err instanceof CofferError) {
    // A failure of the server's store or files: its text (a location, a SQLSTATE; never a
    // value, by the catalogue's rule) is for the operator, who no longer gets it in answers.
    const detail = serverSideDetail(err);
    return detail === undefined ? { code: err.code } : { code: err.code, detail };
  }
  const name = (err as { name?: unknown } | null)?.name;
  return { code: 'INTERNAL', errorClass: typeof name === 'string' ? name.slice(0, 60) : 'unknown' };
}

/**
 * The route template of a request: set by the route's handler, or, when the request was
 * refused before the handler ran (401, 429), the template hono matched (`:name` written as
 * `{name}`). Never the raw path, which can name a secret. `unmatched` for unknown routes.
 */
function routeOf(c: Context<AppEnv>): string {
  const set = c.get('route');
  if (set !== 'unmatched') return set;
  const matched = routePath(c, -1);
  if (matched === '*' || matched.endsWith('/*') || !matched.startsWith('/')) return set;
  return matched.replace(/:(\w+)/g, '{$1}');
}

/** The fields of a request's log line. */
export interface RequestLine {
  reqId: string;
  /** The client address (client-address.ts): the TCP peer, or the client a trusted proxy names. */
  addr: string;
  method: string;
  route: string;
  status: number;
  ms: number;
  code?: string | undefined;
  errorClass?: string | undefined;
}

const str = JSON.stringify;

/**
 * Writes an info-level request line as pino would, straight to the logger's stream; through
 * pino itself when the stream wants pino's per-line metadata (a multistream).
 */
function infoLineWriter(logger: Logger): (line: RequestLine) => void {
  const internals = logger as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as Record<symbol, unknown> & {
    write(s: string): unknown;
  };
  if (stream[pino.symbols.needsMetadataGsym] === true) {
    return (l) => logger.info(l, 'request');
  }
  const time = internals[pino.symbols.timeSym] as () => string;
  const bindings = internals[pino.symbols.chindingsSym] as string;
  const level = logger.levels.values.info;
  const messageKey = internals[pino.symbols.messageKeySym] as string;
  const end = `,${str(messageKey)}:"request"}\n`;
  return (l) => {
    let out = `{"level":${level}${time()}${bindings},"reqId":${str(l.reqId)},"addr":${str(l.addr)},"method":${str(l.method)},"route":${str(l.route)},"status":${l.status},"ms":${l.ms}`;
    if (l.code !== undefined) out += `,"code":${str(l.code)}`;
    if (l.errorClass !== undefined) out += `,"errorClass":${str(l.errorClass)}`;
    stream.write(out + end);
  };
}

/** Milliseconds since `started` (a `performance.now()`), to 0.01 ms, for `RequestLine.ms`. */
export function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

/**
 * Writes request lines: a 5xx through pino at error level ("request failed"), any other
 * answer at info level (formatted here, see above).
 */
export function requestLineLogger(logger: Logger): (line: RequestLine) => void {
  const writeInfo = infoLineWriter(logger);
  return (line) => {
    if (line.status >= 500) logger.error(line, 'request failed');
    else if (logger.isLevelEnabled('info')) writeInfo(line);
  };
}

/**
 * Logs each request once it is answered. Sets the request id (answered as X-Request-Id) and
 * the client address (`addressOf`), which the rate limit and the audit actor use too.
 */
export function requestLogger(
  log: (line: RequestLine) => void,
  newId: () => string,
  addressOf: (c: Context<AppEnv>) => string,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = newId();
    const addr = addressOf(c);
    c.set('requestId', requestId);
    c.set('address', addr);
    c.set('route', 'unmatched');
    // Set before the answer exists: touching c.res.headers afterwards would turn the
    // adapter's light response into a full Response object on every request.
    c.header('x-request-id', requestId);
    await next();
    const status = c.res.status;
    log({
      reqId: requestId,
      addr,
      method: c.req.method,
      route: routeOf(c),
      status,
      ms: elapsedMs(started),
      ...(c.error !== undefined ? errorFields(c.error) : {}),
      ...(c.error === undefined && status >= 400 ? { code: c.get('errorCode') } : {}),
    });
  };
}
