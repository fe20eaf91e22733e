/**
 * The one place where an error becomes an HTTP answer (docs/http-api.md, "Errors").
 *
 * The status comes from a table: first by code (authentication, authorization, sizes, rate
 * limit, media type, a locked store, a full server), then by the code's class (usage 400,
 * not found 404, conflict 409, integrity and failure 500). The body is always `{code, message, requestId}`:
 * a CofferError's message, which by the catalogue's rule names paths and files but never a
 * value; anything that is not a CofferError becomes a generic INTERNAL 500 whose text, stack
 * and cause stay on the server. Nothing here reads the request.
 */
import { CofferError, type ErrorClass, type ErrorCode } from '../core/errors.js';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
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

export function statusOf(code: ErrorCode, errorClass: ErrorClass): number {
  return STATUS_BY_CODE[code] ?? STATUS_BY_CLASS[errorClass];
}

/** The HTTP status and body for any thrown value. */
export function errorResponse(
  err: unknown,
  requestId: string,
): { status: number; body: ErrorBody; known: boolean } {
  if (err instanceof CofferError) {
    return {
      status: statusOf(err.code, err.errorClass),
      body: { code: err.code, message: err.message, requestId },
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
