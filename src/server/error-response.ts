/**
 * The one place where an error becomes an HTTP answer (docs/http-api.md, "Errors").
 *
 * The status comes from a table: first by code (authentication, authorization, sizes, rate
 * limit, media type, a locked store, a full server), then by the code's class (usage 400,
 * not found 404, conflict 409, integrity and failure 500). The body is always
 * `{code, message, hint?, requestId}`: a CofferError's message and hint, which by the
 * catalogue's rule name paths and files but never a value, so a remote caller reads the same
 * hint as a local one (`Pass --description ...`); anything that is not a CofferError becomes
 * a generic INTERNAL 500 whose text, stack and cause stay on the server. The server's own
 * failures (its store, its files, its keys, its audit log) keep their code but neither their
 * text nor their hint, which name the database, its user and schema, or a path on the server,
 * and advise its operator (restore a backup, acknowledge the audit log, give the master key):
 * a caller (even one without a valid token, whose token lookup failed) learns that the server
 * cannot serve and that its operator must act, and the server log has the rest (logger.ts). Nothing here reads the request.
 */
import { CofferError, type ErrorClass, type ErrorCode, isServerSideCode } from '../core/errors.js';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** What the caller can do about it; absent for the server's own failures. */
  hint?: string;
  requestId: string;
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  VALUE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  STORE_LOCKED: 503,
  SERVER_BUSY: 503,
};

const STATUS_BY_CLASS: Record<ErrorClass, number> = {
  usage: 400,
  not_found: 404,
  conflict: 409,
  integrity: 500,
  failure: 500,
};

/**
 * What a caller reads of a failure of the server itself (core's SERVER_SIDE_CODES): the
 * error's own text stays in the server's log.
 */
const SERVER_SIDE_TEXT: Partial<Record<ErrorCode, string>> = {
  STORE_ERROR: "the server's store failed; the server log has the request id",
  STORE_LOCKED: "the server's store is busy (locked by another writer); try again",
  STORE_CORRUPT: "the server's store reports damaged data; the server log has the request id",
  IO_ERROR: 'a file operation on the server failed; the server log has the request id',
  INTEGRITY_FAILURE:
    "the server's stored data failed its integrity check, so the server cannot serve it until its operator acts; the server log has the request id",
  AUDIT_BROKEN:
    "the server's audit log failed its check, so the server cannot serve until its operator acts; the server log has the request id",
  AUDIT_CHAIN_BROKEN:
    "the server's audit log is broken, so the server does nothing until its operator acts; nothing was done; the server log has the request id",
  MASTER_KEY_MISSING:
    'the server cannot unlock its vault (its master key is missing) until its operator provides it; the server log has the request id',
  WRONG_KEY:
    'the server cannot unlock its vault (its master key does not match) until its operator fixes it; the server log has the request id',
  KEY_NOT_FOUND:
    "the server's keyring lacks a key its data needs, so the server cannot serve it until its operator acts; the server log has the request id",
  KEY_FILE_INSECURE:
    'the server refuses its own key file until its operator fixes it; the server log has the request id',
  UNSUPPORTED_FORMAT:
    "the server's store holds data in a format this server does not read, until its operator upgrades it; the server log has the request id",
  VAULT_NOT_FOUND:
    'the server has no vault to serve until its operator restores or creates it; the server log has the request id',
  DEPENDENCY_MISSING:
    'the server lacks a package it needs until its operator installs it; the server log has the request id',
};

/**
 * What a caller may read of an error: its message, or for a failure of the server itself the
 * fixed text (the pages of the web UI and of requests show errors through this too).
 */
export function shownMessage(err: CofferError): string {
  return isServerSideCode(err.code)
    ? (SERVER_SIDE_TEXT[err.code] ?? 'the server failed; the server log has the request id')
    : err.message;
}

/** The hint a caller may read (none for the server's own failures). */
export function shownHint(err: CofferError): string | undefined {
  return isServerSideCode(err.code) ? undefined : err.hint;
}

/** The text a server-side failure is logged with (never sent to the caller). */
export function serverSideDetail(err: unknown): string | undefined {
  return err instanceof CofferError && isServerSideCode(err.code) ? err.message : undefined;
}

export function statusOf(code: ErrorCode, errorClass: ErrorClass): number {
  return STATUS_BY_CODE[code] ?? STATUS_BY_CLASS[errorClass];
}

/** The HTTP status and body for any thrown value. */
export function errorResponse(
  err: unknown,
  requestId: string,
): { status: number; body: ErrorBody; known: boolean } {
  if (err instanceof CofferError) {
    const hint = shownHint(err);
    return {
      status: statusOf(err.code, err.errorClass),
      body: {
        code: err.code,
        message: shownMessage(err),
        ...(hint !== undefined && hint !== '' ? { hint } : {}),
        requestId,
      },
      known: true,
    };
  }
  return {
    status: 500,
    body: {
      code: 'INTERNAL',
      message: 'internal error; the server log has the request id',
      requestId,
    },
    known: false,
  };
}
