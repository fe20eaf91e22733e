/**
 * Integer and boolean columns as both SQL backends return them, including values coffer never
 * writes (an edit outside it): those are read as NaN or as a row without a MAC, never as some
 * nearby number, so the row MAC check refuses them (test/e2e/tamper-rows.test.ts end to end).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../core/errors.js';
import { postgresInt, rowId, rowMappers, sqliteInt } from './rows.js';

const secretRow = (over: Record<string, unknown>) => ({
  path: 'project/app/db_url',
  env: 'dev',
  description: 'Database URL the app connects with',
  current_version: 3,
  tier: null,
  rotation: null,
  env_var: null,
  local_only: 0,
  generator: null,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  deleted_at: null,
  mac: Buffer.alloc(32, 1),
  ...over,
});

describe('integer columns', () => {
  it('a safe integer comes back as itself (SQLite: a number; PostgreSQL bigint: decimal text)', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(sqliteInt(n)).toBe(n);
        expect(postgresInt(String(n))).toBe(n);
        expect(postgresInt(n)).toBe(n);
      }),
    );
  });

  it('anything else is NaN: past 2^53, fractions, text, bytes', () => {
    const odd = [
      2 ** 53,
      2 ** 62,
      -(2 ** 60),
      1.5,
      Number.NaN,
      Infinity,
      '5',
      'abc',
      '',
      Buffer.from('5'),
      true,
      5n,
      undefined,
    ];
    for (const v of odd) expect(sqliteInt(v), String(v)).toBeNaN();
    for (const v of [
      '4611686018427387904',
      '9007199254740993',
      '-9223372036854775808',
      '1.5',
      '1e3',
      ' 5',
      '5 ',
      '0x10',
      '',
      'abc',
      1.5,
      2 ** 62,
      Buffer.from('5'),
    ]) {
      expect(postgresInt(v), String(v)).toBeNaN();
    }
  });

  it('a version row id no number holds is an integrity failure (a re-wrap would update another row)', () => {
    const d = { text: String, bool: () => false, int: sqliteInt };
    expect(rowId(d, 7)).toBe(7);
    expect(() => rowId(d, 2 ** 62)).toThrow(CofferError);
    expect(() => rowId(d, 2 ** 62)).toThrow(expect.objectContaining({ code: 'INTEGRITY_FAILURE' }));
  });
});

describe('a secrets row', () => {
  const { toSecret } = rowMappers({
    text: String,
    bool: (v) => (v === 1 ? true : v === 0 ? false : undefined),
    int: sqliteInt,
  });

  it('maps as stored', () => {
    const s = toSecret(secretRow({ tier: 2, local_only: 1 }));
    expect(s.currentVersion).toBe(3);
    expect(s.tier).toBe(2);
    expect(s.localOnly).toBe(true);
    expect(s.mac).toHaveLength(32);
  });

  it('an integer coffer never writes is NaN, a flag other than 0/1 leaves the row no MAC', () => {
    expect(toSecret(secretRow({ current_version: 2 ** 62 })).currentVersion).toBeNaN();
    expect(toSecret(secretRow({ tier: 'abc' })).tier).toBeNaN();
    expect(toSecret(secretRow({ tier: null })).tier).toBeNull();
    const flag = toSecret(secretRow({ local_only: 2 }));
    expect(flag.localOnly).toBe(false);
    expect(flag.mac).toBeNull();
  });
});
