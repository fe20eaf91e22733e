/**
 * The few parts of the `pg` driver the PostgreSQL backend uses, described here as local
 * interfaces (as kysely's dialect configs do) so that nothing imports the driver's types and
 * the driver itself is loaded only when a PostgreSQL store is opened. `pg` is an optional
 * dependency: without it, opening a store fails with DEPENDENCY_MISSING.
 *
 * Also here: reading a connection URL (its `schema` parameter, a redacted form for messages)
 * and translating driver errors into coffer's codes. A message names the store by its
 * redacted URL and the error by its SQLSTATE or socket code, never by the driver's text,
 * which can quote row values.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { CofferError } from '../../core/errors.js';

const require = createRequire(import.meta.url);

export interface PgQueryConfig {
  name?: string;
  text: string;
  values?: unknown[];
}

export interface PgResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

export interface PgClient {
  query(query: string | PgQueryConfig): Promise<PgResult>;
  /** Returns the connection to the pool; a truthy argument destroys it instead. */
  release(destroy?: boolean | Error): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
}

export interface PgPool {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

export interface PgPoolConfig {
  connectionString: string;
  max: number;
  options: string;
  application_name: string;
  connectionTimeoutMillis: number;
  idleTimeoutMillis: number;
  query_timeout?: number;
  keepAlive?: boolean;
  keepAliveInitialDelayMillis?: number;
}

export interface PgModule {
  Pool: new (config: PgPoolConfig) => PgPool;
}

/**
 * Loads `pg` (lazily: only a PostgreSQL store needs it). With require, not import(): the
 * bundled CLI runs in a vm.Script, where a dynamic import() of a package is not available,
 * and pg is CommonJS anyway.
 */
export async function loadPg(
  importer: () => Promise<unknown> = async () => require('pg'),
): Promise<PgModule> {
  let mod: unknown;
  try {
    mod = await importer();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new CofferError(
        'DEPENDENCY_MISSING',
        'a PostgreSQL store needs the optional package pg, which is not installed',
        {
          hint: 'Install it next to coffer (npm install pg), or unset COFFER_DATABASE_URL.',
          cause: err,
        },
      );
    }
    throw err;
  }
  const pg = ((mod as { default?: unknown }).default ?? mod) as Partial<PgModule>;
  if (typeof pg.Pool !== 'function') {
    throw new CofferError('DEPENDENCY_MISSING', 'the installed pg package has no Pool');
  }
  return pg as PgModule;
}

export interface DatabaseTarget {
  /** The URL as the driver gets it (without the `schema` and `options` parameters). */
  connectionString: string;
  schema: string;
  /** The URL for messages and `Storage.location`: password replaced by `***`. */
  location: string;
  /** The URL's `options` parameter (server settings such as `-c statement_timeout=5s`). */
  serverOptions: string;
}

export const DEFAULT_SCHEMA = 'coffer';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Reads a `postgres://` / `postgresql://` URL. The schema comes from `schema` (an option),
 * then the URL's `?schema=` parameter, then `coffer`; it must be a plain lowercase SQL name,
 * since it goes into the connection's search_path.
 */
export function parseDatabaseTarget(url: string, schema?: string): DatabaseTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CofferError('INVALID_ARGUMENT', 'the PostgreSQL URL is not a valid URL', {
      hint: 'Use postgres://USER:PASSWORD@HOST:5432/DATABASE?schema=coffer',
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new CofferError('INVALID_ARGUMENT', 'a PostgreSQL URL starts with postgres://', {
      hint: 'Use postgres://USER:PASSWORD@HOST:5432/DATABASE?schema=coffer',
    });
  }
  const chosen = schema ?? parsed.searchParams.get('schema') ?? DEFAULT_SCHEMA;
  if (!SCHEMA_NAME.test(chosen)) {
    throw new CofferError('INVALID_ARGUMENT', `invalid PostgreSQL schema name "${chosen}"`, {
      hint: 'A schema name is 1-63 lowercase letters, digits and _, not starting with a digit.',
    });
  }
  // The URL as errors show it: no password, and of the query only the schema (libpq-style
  // parameters such as `password=` or `sslpassword=` can carry secrets too).
  const shown = new URL(parsed.toString());
  if (shown.password !== '') shown.password = '***';
  shown.search = '';
  shown.searchParams.set('schema', chosen);
  // The driver lets the URL's `options` override its config, so take them out here and
  // put them before coffer's own settings (the last `-c` of a name wins).
  const serverOptions = parsed.searchParams.get('options') ?? '';
  parsed.searchParams.delete('schema');
  parsed.searchParams.delete('options');
  return {
    connectionString: parsed.toString(),
    schema: chosen,
    location: shown.toString(),
    serverOptions,
  };
}

/**
 * The advisory-lock key of a schema: every write transaction and every migration of the
 * store takes it, so writers on every instance queue behind one another. Two schemas in
 * one database get different keys (a 64-bit hash; a collision would only serialise them).
 */
export function lockKey(schema: string): string {
  const digest = createHash('sha256').update(`coffer write lock:${schema}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/** Errors that came out of the driver (kept raw inside a transaction, translated at its end). */
const driverErrors = new WeakSet<object>();

export function markDriverError(err: unknown): unknown {
  if (typeof err === 'object' && err !== null) driverErrors.add(err);
  return err;
}

export function isDriverError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && driverErrors.has(err);
}

/** The SQLSTATE of a server error (`23505`), or undefined for any other error. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);
const LOCK_STATES = new Set(['55P03', '40P01', '40001']);
const CONNECT_HINT = 'Check COFFER_DATABASE_URL and that the PostgreSQL server is running.';

/** Translates a driver error into a CofferError; anything else is returned unchanged. */
export function storeError(err: unknown, location: string): unknown {
  if (err instanceof CofferError || typeof err !== 'object' || err === null) return err;
  const code = (err as { code?: unknown }).code;
  const state = sqlState(err);
  const opts = { cause: err };
  if (state !== undefined && LOCK_STATES.has(state)) {
    return new CofferError(
      'STORE_LOCKED',
      `the PostgreSQL store at ${location} is locked by another writer (SQLSTATE ${state})`,
      opts,
    );
  }
  if (state?.startsWith('28')) {
    return new CofferError(
      'STORE_ERROR',
      `PostgreSQL at ${location} refused the login (SQLSTATE ${state})`,
      { ...opts, hint: 'Check the user and password in COFFER_DATABASE_URL.' },
    );
  }
  if (state === '3D000' || state?.startsWith('08') || state?.startsWith('57P')) {
    return new CofferError(
      'STORE_ERROR',
      `cannot use the PostgreSQL database at ${location} (SQLSTATE ${state})`,
      { ...opts, hint: CONNECT_HINT },
    );
  }
  if (state === 'XX001' || state === 'XX002') {
    return new CofferError(
      'STORE_CORRUPT',
      `PostgreSQL reports damaged data in ${location} (SQLSTATE ${state})`,
      opts,
    );
  }
  if (state !== undefined) {
    return new CofferError(
      'STORE_ERROR',
      `the PostgreSQL store at ${location} failed (SQLSTATE ${state})`,
      opts,
    );
  }
  if (typeof code === 'string' && SOCKET_CODES.has(code)) {
    return new CofferError('STORE_ERROR', `cannot reach PostgreSQL at ${location} (${code})`, {
      ...opts,
      hint: CONNECT_HINT,
    });
  }
  if (driverErrors.has(err)) {
    // Driver errors without a code: connection timeouts, a connection that ended.
    return new CofferError('STORE_ERROR', `the connection to PostgreSQL at ${location} failed`, {
      ...opts,
      hint: CONNECT_HINT,
    });
  }
  return err;
}
