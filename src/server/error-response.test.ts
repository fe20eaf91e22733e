import { describe, expect, it } from 'vitest';
import { CofferError } from '../core/errors.js';
import { errorResponse } from './error-response.js';
import { errorFields } from './logger.js';

describe('errorResponse', () => {
  it("a failure of the server's store or files: its code to the caller, its text to the log only", () => {
    const where = 'postgres://coffer:***@db.internal:5432/coffer?schema=team';
    for (const code of ['STORE_ERROR', 'STORE_LOCKED', 'STORE_CORRUPT', 'IO_ERROR'] as const) {
      const err = new CofferError(code, `cannot reach PostgreSQL at ${where} (ECONNREFUSED)`);
      const { status, body } = errorResponse(err, 'req-1');
      expect(status).toBeGreaterThanOrEqual(500);
      expect(body.code).toBe(code);
      expect(body.message).not.toContain('db.internal');
      expect(body.message).not.toContain('coffer?schema');
      expect(errorFields(err)).toEqual({ code, detail: err.message });
    }
  });

  it("a caller's own error keeps its text, and the log gets only its code", () => {
    const err = new CofferError('FORBIDDEN', 'the token may not read project/app/db_url');
    const { status, body } = errorResponse(err, 'req-2');
    expect(status).toBe(403);
    expect(body.message).toBe(err.message);
    expect(errorFields(err)).toEqual({ code: 'FORBIDDEN' });
  });
});
