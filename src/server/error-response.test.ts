import { describe, expect, it } from 'vitest';
import { CofferError, defaultHint } from '../core/errors.js';
import { errorResponse } from './error-response.js';
import { errorFields } from './logger.js';

describe('errorResponse', () => {
  it("a failure of the server's store or files: its code to the caller, its text to the log only", () => {
    const where = 'postgres://coffer:***@db.internal:5432/coffer?schema=team';
    for (const code of ['STORE_ERROR', 'STORE_LOCKED', 'STORE_CORRUPT', 'IO_ERROR'] as const) {
      const err = new CofferError(code, `cannot reach PostgreSQL at ${where} (ECONNREFUSED)`, {
        hint: `Check that PostgreSQL at ${where} is running.`,
      });
      const { status, body } = errorResponse(err, 'req-1');
      expect(status).toBeGreaterThanOrEqual(500);
      expect(body.code).toBe(code);
      expect(body.message).not.toContain('db.internal');
      expect(body.message).not.toContain('coffer?schema');
      expect(body.hint).toBeUndefined();
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

  it("a caller's own error carries its hint, as the same refusal shows it locally", () => {
    const hint = 'Pass --description "what it is for", e.g. "Stripe API key for payments".';
    const err = new CofferError('INVALID_DESCRIPTION', 'a description is required', { hint });
    const { status, body } = errorResponse(err, 'req-3');
    expect(status).toBe(400);
    expect(body).toEqual({
      code: 'INVALID_DESCRIPTION',
      message: 'a description is required',
      hint,
      requestId: 'req-3',
    });
    const conflict = errorResponse(new CofferError('VERSION_CONFLICT', 'at 2, not 1'), 'req-4');
    expect(conflict.body.hint).toBe(defaultHint('VERSION_CONFLICT'));
    const bare = errorResponse(new CofferError('INVALID_ARGUMENT', 'no'), 'req-5');
    expect(Object.keys(bare.body)).toEqual(['code', 'message', 'requestId']);
  });

  it('an unexpected error has no hint', () => {
    const { body } = errorResponse(new Error('boom at /srv/coffer'), 'req-6');
    expect(body).toEqual({
      code: 'INTERNAL',
      message: 'internal error; the server log has the request id',
      requestId: 'req-6',
    });
  });
});
