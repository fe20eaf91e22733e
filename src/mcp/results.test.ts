import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError, ERROR_CODES } from '../core/errors.js';
import { clientInfoFrom, mcpActor } from './identity.js';
import { errorResult, okResult, previewOf, toolError } from './results.js';

describe('previewOf', () => {
  it('shows the start of long values and nothing of values under 16 characters', () => {
    expect(previewOf('sk_live_abc123xyz')).toBe('sk…');
    expect(previewOf('sk_live_abc123xyz_0123456789abcdef')).toBe('sk_l…');
    expect(previewOf('0123456789abcde')).toBe('…');
    expect(previewOf('1234')).toBe('…');
    expect(previewOf('abcdefgh')).toBe('…');
    expect(previewOf('')).toBe('…');
  });

  it('never holds the whole value and shows at most 4 characters and at most an eighth', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), (value) => {
        const preview = previewOf(value);
        const shown = Array.from(preview.slice(0, -1));
        const n = Array.from(value).length;
        expect(preview.endsWith('…')).toBe(true);
        expect(shown.length).toBeLessThanOrEqual(n < 16 ? 0 : Math.min(4, n / 8));
        expect(value.startsWith(shown.join(''))).toBe(true);
        expect(shown.join('')).not.toBe(value);
      }),
      { numRuns: 200 },
    );
  });
});

describe('tool results', () => {
  it('puts the same JSON in structuredContent and the text block', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (data) => {
        const r = okResult(data);
        expect(JSON.parse(r.content[0]!.text)).toEqual(JSON.parse(JSON.stringify(data)));
        expect(r.structuredContent).toBe(data);
        expect(r.isError).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });

  it('reports CofferErrors by code, message and hint, with hints worded for agents', () => {
    const e = toolError(
      new CofferError('INVALID_DESCRIPTION', 'a description is required to create x', {
        hint: 'Pass --description "what it is for", e.g. "Stripe API key for payment processing".',
      }),
    );
    expect(e).toEqual({
      code: 'INVALID_DESCRIPTION',
      message: 'a description is required to create x',
      hint: 'Pass a description argument "what it is for", e.g. "Stripe API key for payment processing".',
    });
    const r = errorResult(e);
    expect(r.isError).toBe(true);
    expect(JSON.parse(r.content[0]!.text)).toEqual({ error: e });
  });

  it('points agents at tools, not CLI commands, and frames what only the user can run', () => {
    const missing = toolError(
      new CofferError('SECRET_NOT_FOUND', 'no secret x in environment dev'),
    );
    expect(missing.hint).toContain('list_secrets');
    expect(missing.hint).not.toContain('coffer list');
    const custom = toolError(
      new CofferError('SECRET_NOT_FOUND', 'no secret x', { hint: 'See `coffer list project/x`.' }),
    );
    expect(custom.hint).toBe('See the list_secrets tool.');
    // Every catalogue hint that names a command either names a tool or leaves it to the user.
    for (const code of ERROR_CODES) {
      const hint = toolError(new CofferError(code, 'x')).hint ?? '';
      if (/`coffer (list|ls|get|verify)\b/.test(hint)) expect.unreachable(`${code}: ${hint}`);
      if (/`coffer [a-z]/.test(hint)) expect(hint, code).toMatch(/user/i);
    }
  });

  it('never shows the text of unexpected errors', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 6 }), (secret) => {
        const e = toolError(new TypeError(`boom ${secret}`));
        expect(e.code).toBe('INTERNAL');
        expect(JSON.stringify(errorResult(e))).not.toContain(JSON.stringify(secret).slice(1, -1));
      }),
      { numRuns: 100 },
    );
  });
});

describe('mcpActor', () => {
  it('records client name, version and agent id', () => {
    expect(mcpActor({ name: 'claude-code', version: '1.2.0' }, undefined)).toBe(
      'mcp:claude-code/1.2.0',
    );
    expect(mcpActor({ name: 'Claude Code', version: '1.2.0' }, 'reviewer 3')).toBe(
      'mcp:Claude-Code/1.2.0 agent:reviewer-3',
    );
    expect(mcpActor(undefined, undefined)).toBe('mcp:unknown/?');
  });

  it('cleans declared identities: printable ASCII, bounded, one / only', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        fc.option(fc.string()),
        (name, version, agent) => {
          const actor = mcpActor({ name, version }, agent ?? undefined);
          expect(actor).toMatch(/^mcp:[\x21-\x7e]+\/[\x21-\x7e]+( agent:[\x21-\x7e]+)?$/);
          expect(actor.split('/').length).toBe(2);
          expect(actor.length).toBeLessThanOrEqual(4 + 64 + 1 + 64 + 7 + 64);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads client info from untrusted envelope data', () => {
    expect(clientInfoFrom({ name: 'x', version: '2' })).toEqual({ name: 'x', version: '2' });
    expect(clientInfoFrom({ name: 'x' })).toEqual({ name: 'x', version: '' });
    expect(clientInfoFrom({ version: '2' })).toBeUndefined();
    expect(clientInfoFrom('x')).toBeUndefined();
    expect(clientInfoFrom(null)).toBeUndefined();
  });
});
