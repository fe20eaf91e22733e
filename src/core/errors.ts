/**
 * The error catalogue: every failure coffer reports has a stable SCREAMING_SNAKE code,
 * a class that front ends map to an exit code or HTTP status, and an optional default hint.
 *
 * Rules (tested by property tests that feed secret sentinels through every operation):
 * - A message names the key path, the file or the line; it never contains a secret value,
 *   key material or decrypted bytes.
 * - Wrapping keeps the cause for debugging, but front ends print only `message` and `hint`.
 * - Authentication failures are opaque: they never say which byte or step failed.
 */

/** What kind of failure an error is; front ends map this to exit codes / HTTP statuses. */
export type ErrorClass = 'failure' | 'usage' | 'not_found' | 'integrity' | 'conflict';

/** Stable error codes; never renamed once released. */
export type ErrorCode =
  | 'USAGE'
  | 'INVALID_PATH'
  | 'INVALID_ENV'
  | 'INVALID_DESCRIPTION'
  | 'INVALID_VALUE'
  | 'EMPTY_VALUE'
  | 'VALUE_TOO_LARGE'
  | 'LINE_TOO_LONG'
  | 'INVALID_ARGUMENT'
  | 'VAULT_NOT_FOUND'
  | 'SECRET_NOT_FOUND'
  | 'PROJECT_NOT_FOUND'
  | 'ENVIRONMENT_NOT_FOUND'
  | 'FILE_NOT_FOUND'
  | 'VERSION_NOT_FOUND'
  | 'SECRET_DELETED'
  | 'WRONG_KEY'
  | 'KEY_NOT_FOUND'
  | 'INTEGRITY_FAILURE'
  | 'AUDIT_BROKEN'
  | 'AUDIT_CHAIN_BROKEN'
  | 'AUDIT_NOTHING_TO_ACKNOWLEDGE'
  | 'UNSUPPORTED_FORMAT'
  | 'VERSION_CONFLICT'
  | 'ALREADY_EXISTS'
  | 'VALUE_CONFLICT'
  | 'MASTER_KEY_MISSING'
  | 'KEY_FILE_INSECURE'
  | 'STORE_LOCKED'
  | 'STORE_CORRUPT'
  | 'STORE_ERROR'
  | 'DEPENDENCY_MISSING'
  | 'AUDIT_WRITE_FAILED'
  | 'IO_ERROR'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'SERVER_BUSY'
  | 'TOKEN_NOT_FOUND'
  | 'ROUTE_NOT_FOUND'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'SERVER_UNREACHABLE'
  | 'SERVER_BAD_RESPONSE'
  | 'DATA_KEY_MISSING'
  | 'DATA_KEY_INVALID'
  | 'PLAINTEXT_REFUSED'
  | 'ENV_NAME_REFUSED'
  | 'INVALID_MANIFEST'
  | 'INVALID_REFERENCE'
  | 'REQUEST_NOT_FOUND'
  | 'INCIDENT_NOT_FOUND'
  | 'REQUEST_CLOSED'
  | 'UNRESOLVED_REFERENCE'
  | 'ROTATION_VALUE_REQUIRED'
  | 'REWRAP_REQUIRED'
  | 'SETUP_INCOMPLETE'
  | 'BACKUP_INVALID'
  | 'INTERNAL';

const CATALOGUE: Record<ErrorCode, { class: ErrorClass; hint: string | undefined }> = {
  USAGE: { class: 'usage', hint: 'Run the command with --help to see its usage and examples.' },
  INVALID_PATH: { class: 'usage', hint: undefined },
  INVALID_ENV: {
    class: 'usage',
    hint: 'Environment names are lowercase letters, digits, - and _ (e.g. dev, staging, prod).',
  },
  INVALID_DESCRIPTION: { class: 'usage', hint: undefined },
  INVALID_VALUE: { class: 'usage', hint: undefined },
  EMPTY_VALUE: {
    class: 'usage',
    hint: 'Nothing was stored. Check that the variable you piped is set; to store an empty value on purpose, pass --allow-empty (HTTP API and coffer/client: allowEmpty: true; MCP set_secret: allowEmpty).',
  },
  VALUE_TOO_LARGE: { class: 'usage', hint: 'Store large files elsewhere and keep their key here.' },
  LINE_TOO_LONG: {
    class: 'usage',
    hint: 'A line that long is data, not text a person wrote: keep the file out of the repository, or split it into lines.',
  },
  INVALID_ARGUMENT: { class: 'usage', hint: undefined },
  VAULT_NOT_FOUND: { class: 'not_found', hint: 'Create one with `coffer init`.' },
  SECRET_NOT_FOUND: { class: 'not_found', hint: 'List what exists with `coffer list`.' },
  PROJECT_NOT_FOUND: {
    class: 'not_found',
    hint: 'Check --project (or the .coffer file); `coffer list project` shows what is stored.',
  },
  ENVIRONMENT_NOT_FOUND: {
    class: 'not_found',
    hint: 'Check --env (or COFFER_ENV); `coffer list project/NAME` shows each secret with its environment.',
  },
  FILE_NOT_FOUND: { class: 'not_found', hint: undefined },
  VERSION_NOT_FOUND: { class: 'not_found', hint: 'See the versions with `coffer history PATH`.' },
  SECRET_DELETED: { class: 'not_found', hint: 'Bring it back with `coffer restore PATH`.' },
  WRONG_KEY: {
    class: 'integrity',
    hint: 'Check COFFER_MASTER_KEY, the key file or the passphrase for this vault.',
  },
  KEY_NOT_FOUND: { class: 'integrity', hint: undefined },
  INTEGRITY_FAILURE: {
    class: 'integrity',
    hint: 'The stored data was changed outside coffer; restore the vault from a backup.',
  },
  AUDIT_BROKEN: {
    class: 'integrity',
    hint: 'The audit log was changed outside coffer; compare it with a backup.',
  },
  AUDIT_CHAIN_BROKEN: {
    class: 'integrity',
    hint: 'Investigate with `coffer audit verify` (and a backup or an off-machine checkpoint); once you know what happened, `coffer audit acknowledge --reason TEXT` records the break and lets operations continue.',
  },
  AUDIT_NOTHING_TO_ACKNOWLEDGE: {
    class: 'conflict',
    hint: 'The audit chain is intact; `coffer audit verify` shows it.',
  },
  UNSUPPORTED_FORMAT: { class: 'integrity', hint: 'Upgrade coffer to read this data.' },
  VERSION_CONFLICT: {
    class: 'conflict',
    hint: 'Read the current version with `coffer get PATH --json` and retry.',
  },
  ALREADY_EXISTS: { class: 'conflict', hint: undefined },
  VALUE_CONFLICT: { class: 'conflict', hint: undefined },
  MASTER_KEY_MISSING: {
    class: 'failure',
    hint: "Give the vault's master key: restore its key file from your backup, pass --key-file PATH, or set COFFER_MASTER_KEY (a passphrase vault: COFFER_PASSPHRASE).",
  },
  KEY_FILE_INSECURE: { class: 'failure', hint: undefined },
  STORE_LOCKED: {
    class: 'failure',
    hint: 'Another process holds the vault lock for too long; retry in a moment.',
  },
  STORE_CORRUPT: { class: 'integrity', hint: 'Restore the vault file from a backup.' },
  STORE_ERROR: { class: 'failure', hint: undefined },
  DEPENDENCY_MISSING: { class: 'failure', hint: 'Install the optional package it names.' },
  AUDIT_WRITE_FAILED: {
    class: 'failure',
    hint: 'Nothing was changed: coffer refuses to act without an audit record.',
  },
  IO_ERROR: { class: 'failure', hint: undefined },
  UNAUTHENTICATED: {
    class: 'integrity',
    hint: 'Check COFFER_TOKEN: it may be mistyped, expired or revoked (`coffer token list`).',
  },
  FORBIDDEN: {
    class: 'integrity',
    hint: "The token's paths, environments or capabilities do not cover this request.",
  },
  RATE_LIMITED: { class: 'failure', hint: 'Too many failed attempts; retry after a while.' },
  SERVER_BUSY: {
    class: 'failure',
    hint: 'The server has as many connections open as it allows; retry in a moment.',
  },
  TOKEN_NOT_FOUND: { class: 'not_found', hint: 'List the tokens with `coffer token list`.' },
  ROUTE_NOT_FOUND: { class: 'not_found', hint: 'See GET /v1/openapi.json for the routes.' },
  UNSUPPORTED_MEDIA_TYPE: { class: 'usage', hint: 'Send the body as application/json.' },
  SERVER_UNREACHABLE: {
    class: 'failure',
    hint: 'Check COFFER_URL and that `coffer serve` is running.',
  },
  SERVER_BAD_RESPONSE: {
    class: 'failure',
    hint: 'Check that COFFER_URL points to a coffer server of a compatible version.',
  },
  DATA_KEY_MISSING: {
    class: 'failure',
    hint: 'Set COFFER_DATA_KEYS="k1:<base64 of 32 bytes>" (e.g. from `openssl rand -base64 32`).',
  },
  DATA_KEY_INVALID: { class: 'usage', hint: undefined },
  PLAINTEXT_REFUSED: {
    class: 'integrity',
    hint: 'Encrypt legacy rows with `coffer envelope rewrap --allow-plaintext`; to read one as it is, add --allow-plaintext (in the library: allowPlaintext: true).',
  },
  ENV_NAME_REFUSED: { class: 'usage', hint: undefined },
  INVALID_MANIFEST: {
    class: 'usage',
    hint: 'Fix the lines named above; docs/manifest.md describes every key.',
  },
  INVALID_REFERENCE: {
    class: 'usage',
    hint: 'A reference is coffer://project/NAME/SECRET or coffer://meta/SERVICE/SECRET, optionally with ?env=ENV.',
  },
  SETUP_INCOMPLETE: {
    class: 'failure',
    hint: 'Export the variables named above, run on a terminal to be asked for them, or store them with `coffer set`; --generate-missing generates tier 1 secrets outside development.',
  },
  REQUEST_NOT_FOUND: {
    class: 'not_found',
    hint: 'Secret requests are made by request_secret and last while that coffer mcp runs.',
  },
  INCIDENT_NOT_FOUND: { class: 'not_found', hint: 'List them with `coffer incident list`.' },
  REQUEST_CLOSED: {
    class: 'conflict',
    hint: 'Each request link works once and for 10 minutes; ask the agent for a new request.',
  },
  UNRESOLVED_REFERENCE: {
    class: 'not_found',
    hint: 'Store the secret (`coffer set`), or fix the reference; `coffer list` shows what exists.',
  },
  BACKUP_INVALID: {
    class: 'integrity',
    hint: 'Use another copy of the backup; this one cannot be trusted.',
  },
  ROTATION_VALUE_REQUIRED: {
    class: 'usage',
    hint: 'Make the new value at the provider, then pipe it with --value-stdin or run on a terminal to be asked for it.',
  },
  REWRAP_REQUIRED: {
    class: 'usage',
    hint: 'Rewrap the data under the new primary key first (coffer envelope rewrap, or MultiFernet.rotate for Fernet tokens), then run coffer rotate --finish PATH --rewrapped.',
  },
  INTERNAL: { class: 'failure', hint: undefined },
};

export interface CofferErrorOptions {
  /** Default: the catalogue's hint for the code; null: no hint at all. */
  hint?: string | null | undefined;
  cause?: unknown;
  retryWith?: RetryWith | undefined;
}

/**
 * For a refusal the caller fixes by naming something else (an environment or project that
 * holds nothing): what it named, the closest that exists, and what exists. `hint` says it to
 * a CLI user (`Pass --env prod`); a front end whose caller names it otherwise (a positional
 * of `env compare`, an MCP tool's `env` argument) phrases its own hint from this.
 */
export interface RetryWith {
  /** Which of the caller's inputs to change. */
  readonly input: 'env' | 'project';
  readonly given: string;
  /** The closest that exists, if one is close. */
  readonly suggested?: string | undefined;
  /** What exists (as the caller may see it), sorted. */
  readonly choices: readonly string[];
}

/** The one error type coffer throws on purpose. `message` is always safe to show. */
export class CofferError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** What to name instead, for a front end that phrases its own hint (RetryWith). */
  readonly retryWith: RetryWith | undefined;

  constructor(code: ErrorCode, message: string, options: CofferErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CofferError';
    this.code = code;
    this.hint = options.hint === null ? undefined : (options.hint ?? CATALOGUE[code].hint);
    this.retryWith = options.retryWith;
  }

  /** The class front ends map to an exit code or an HTTP status. */
  get errorClass(): ErrorClass {
    return CATALOGUE[this.code].class;
  }
}

/** Every code with its class, for front ends that build their mapping tables. */
export function errorClassOf(code: ErrorCode): ErrorClass {
  return CATALOGUE[code].class;
}

/** The catalogue's hint for `code` (what a CofferError gets when it is given none). */
export function defaultHint(code: ErrorCode): string | undefined {
  return CATALOGUE[code].hint;
}

/**
 * Failures of a server itself (its store, its files, its keys, its audit log), as opposed to
 * errors of the caller's request: a server answers them with a fixed text and no hint, since
 * their message names its database, paths or key files and their hint is advice for its
 * operator (`Restore the vault file from a backup`, `coffer audit acknowledge`, `set
 * COFFER_MASTER_KEY`), not for a remote caller, who learns that the server cannot serve and
 * that its operator must act; a client never fills in the catalogue's hint for them. Locally
 * (the CLI on its own vault) the same codes keep their full message and hint. Not here:
 * AUDIT_WRITE_FAILED (a fixed message, and its hint, `Nothing was changed`, is for the caller).
 */
export const SERVER_SIDE_CODES: readonly ErrorCode[] = [
  'STORE_ERROR',
  'STORE_LOCKED',
  'STORE_CORRUPT',
  'IO_ERROR',
  'INTEGRITY_FAILURE',
  'AUDIT_BROKEN',
  'AUDIT_CHAIN_BROKEN',
  'MASTER_KEY_MISSING',
  'WRONG_KEY',
  'KEY_NOT_FOUND',
  'KEY_FILE_INSECURE',
  'UNSUPPORTED_FORMAT',
  'VAULT_NOT_FOUND',
  'DEPENDENCY_MISSING',
];

/** Is `code` a failure of the server itself (SERVER_SIDE_CODES)? */
export function isServerSideCode(code: ErrorCode): boolean {
  return SERVER_SIDE_CODES.includes(code);
}

/** The list of all codes (documentation and tests). */
export const ERROR_CODES: readonly ErrorCode[] = Object.keys(CATALOGUE) as ErrorCode[];

export function isCofferError(err: unknown): err is CofferError {
  return err instanceof CofferError;
}

/** What a file-system error code means, said plainly. */
const SYSTEM_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links (a loop?)',
  ENAMETOOLONG: 'the name is too long',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  EBUSY: 'the file is busy',
  EEXIST: 'it exists already',
  ENOTEMPTY: 'the directory is not empty',
  EXDEV: 'it is on another device',
};

/**
 * A file-system error (Node's `err.code` and `err.path`) that escaped as it was, as a
 * CofferError naming the file and what went wrong: FILE_NOT_FOUND for ENOENT, IO_ERROR for
 * the others. Undefined for anything else, which stays an internal error.
 *
 * `file` names the file the caller was working on (as its user gave it) in place of the
 * path the system call failed on, which may be a directory on the way or an absolute path
 * the user never typed: `cannot use plain/.env: a part of the path is not a directory`.
 */
export function fromSystemError(err: unknown, file?: string): CofferError | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (typeof e?.code !== 'string' || typeof e.path !== 'string') return undefined;
  const cap = (p: string) => (p.length > 200 ? `${p.slice(0, 200)}...` : p);
  const path = cap(e.path);
  if (e.code === 'ENOENT') {
    const message =
      file === undefined
        ? `${path} does not exist`
        : `cannot use ${cap(file)}: it, or a directory on its way, does not exist`;
    return new CofferError('FILE_NOT_FOUND', message, { cause: err });
  }
  const what = SYSTEM_ERRORS[e.code];
  if (what === undefined) return undefined;
  const name = file === undefined ? path : cap(file);
  return new CofferError('IO_ERROR', `cannot use ${name}: ${what} (${e.code})`, { cause: err });
}

/** Why reading `file` failed: fromSystemError's message, else an IO_ERROR with the code. */
export function readFailure(file: string, err: unknown): CofferError {
  return (
    fromSystemError(err) ??
    new CofferError(
      'IO_ERROR',
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    )
  );
}
