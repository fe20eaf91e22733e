/**
 * generateSecret: every kind's length and character set (property tests over sizes), the
 * password classes, uniqueness, the size limits, and a loose uniformity check for alnum.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseKeyList } from '../envelope/keyring.js';
import { CofferError } from '../errors.js';
import { fernetDecrypt, fernetEncrypt } from '../fernet/fernet.js';
import { addPrimaryKey, readKeyList } from '../rotation/keylist.js';
import { generateSecret, PASSWORD_SYMBOLS } from './generate.js';
import { type ByteKind, type CharKind, KINDS, minimumSize, parseGeneratorSpec } from './spec.js';

const sized = (min: number, max = 600): fc.Arbitrary<number> => fc.integer({ min, max });

/** Per byte kind: the expected length for `n` bytes, the alphabet, and how to decode. */
const BYTE_KINDS: Record<
  ByteKind,
  { len: (n: number) => number; re: RegExp; enc: BufferEncoding }
> = {
  base64: { len: (n) => 4 * Math.ceil(n / 3), re: /^[A-Za-z0-9+/]+={0,2}$/, enc: 'base64' },
  hex: { len: (n) => 2 * n, re: /^[0-9a-f]+$/, enc: 'hex' },
  urlsafe: { len: (n) => Math.ceil((4 * n) / 3), re: /^[A-Za-z0-9_-]+$/, enc: 'base64url' },
  jwt: { len: (n) => Math.ceil((4 * n) / 3), re: /^[A-Za-z0-9_-]+$/, enc: 'base64url' },
};
const CHAR_KINDS: Record<CharKind, RegExp> = {
  alnum: /^[A-Za-z0-9]+$/,
  password: /^[A-Za-z0-9\-_.,+=]+$/,
};
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function invalidArgument(fn: () => unknown): void {
  expect(fn).toThrow(CofferError);
  try {
    fn();
  } catch (err) {
    expect((err as CofferError).code).toBe('INVALID_ARGUMENT');
  }
}

describe('generateSecret: formats', () => {
  for (const [kind, { len, re, enc }] of Object.entries(BYTE_KINDS)) {
    it(`${kind}: length and alphabet match the byte count`, () => {
      fc.assert(
        fc.property(sized(12), (bytes) => {
          const s = generateSecret({ kind: kind as ByteKind, bytes });
          expect(s).toHaveLength(len(bytes));
          expect(s).toMatch(re);
          expect(Buffer.from(s, enc)).toHaveLength(bytes);
        }),
        { numRuns: 50 },
      );
    });
  }

  for (const [kind, re] of Object.entries(CHAR_KINDS)) {
    it(`${kind}: length and alphabet match the request`, () => {
      fc.assert(
        fc.property(sized(16), (length) => {
          const s = generateSecret({ kind: kind as CharKind, length });
          expect(s).toHaveLength(length);
          expect(s).toMatch(re);
        }),
        { numRuns: 50 },
      );
    });
  }

  it('uses the documented defaults', () => {
    expect(generateSecret({ kind: 'base64' })).toHaveLength(44);
    expect(generateSecret({ kind: 'hex' })).toHaveLength(64);
    expect(generateSecret({ kind: 'urlsafe' })).toHaveLength(43);
    expect(generateSecret({ kind: 'jwt' })).toHaveLength(86);
    expect(generateSecret({ kind: 'alnum' })).toHaveLength(32);
    expect(generateSecret({ kind: 'password' })).toHaveLength(24);
  });

  it('password: every class appears, at every length from 4 up', () => {
    const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[-_.,+=]/];
    fc.assert(
      fc.property(sized(4, 64), (length) => {
        const s = generateSecret({ kind: 'password', length, allowWeak: true });
        expect(s).toHaveLength(length);
        for (const re of classes) expect(s).toMatch(re);
      }),
      { numRuns: 200 },
    );
  });

  it('password symbols avoid characters that need quoting in .env files and shells', () => {
    expect(PASSWORD_SYMBOLS).toBe('-_.,+=');
    for (const c of `'"\`\\$# \t\n!*?[]{}~&|;<>()^@:/%`) expect(PASSWORD_SYMBOLS).not.toContain(c);
  });

  it('uuid: RFC 9562 version 4, variant 10', () => {
    for (let i = 0; i < 50; i++) expect(generateSecret({ kind: 'uuid' })).toMatch(UUID_V4);
  });

  it('fernet: 32 bytes in url-safe base64 with padding, usable as a Fernet key', () => {
    for (let i = 0; i < 20; i++) {
      const key = generateSecret({ kind: 'fernet' });
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
      expect(Buffer.from(key, 'base64url')).toHaveLength(32);
      expect(fernetDecrypt(key, fernetEncrypt(key, 'ok')).toString()).toBe('ok');
    }
  });

  it('keyring: a coffer/envelope key list of one 32-byte key k1, which rotate extends with k2', () => {
    for (let i = 0; i < 20; i++) {
      const value = generateSecret({ kind: 'keyring' });
      expect(value).toMatch(/^k1:[A-Za-z0-9+/]{43}=$/);
      const keys = parseKeyList(value, 'the value');
      expect(keys.map((k) => k.id)).toEqual(['k1']);
      expect(keys[0]!.key).toHaveLength(32);
      const list = readKeyList(value, { generator: 'keyring', tier: null })!;
      expect(list.format).toBe('envelope');
      expect(addPrimaryKey(list).value).toMatch(/^k2:[A-Za-z0-9+/]{43}=,k1:/);
    }
    expect(parseGeneratorSpec('keyring')).toEqual({ kind: 'keyring' });
    expect(() => parseGeneratorSpec('keyring:32')).toThrow(/takes no size/);
  });

  it('every kind gives a different value on every call', () => {
    for (const kind of KINDS) {
      const seen = new Set(Array.from({ length: 200 }, () => generateSecret({ kind })));
      expect(seen.size, kind).toBe(200);
    }
  });
});

describe('generateSecret: limits', () => {
  it('refuses output under 16 characters unless allowWeak', () => {
    // Smallest sizes that still give 16 characters, then one less.
    const floors: [ByteKind | CharKind, number][] = [
      ['base64', 10],
      ['hex', 8],
      ['urlsafe', 12],
      ['jwt', 12],
      ['alnum', 16],
      ['password', 16],
    ];
    for (const [kind, ok] of floors) {
      const field = kind === 'alnum' || kind === 'password' ? 'length' : 'bytes';
      const spec = (n: number, allowWeak?: boolean) =>
        ({ kind, [field]: n, ...(allowWeak === undefined ? {} : { allowWeak }) }) as never;
      expect(generateSecret(spec(ok)).length).toBeGreaterThanOrEqual(16);
      expect(minimumSize(kind)).toBe(ok);
      const weak = ok - 1;
      invalidArgument(() => generateSecret(spec(weak)));
      invalidArgument(() => generateSecret(spec(weak, false)));
      expect(generateSecret(spec(weak, true)).length).toBeLessThan(16);
      const smallest = kind === 'password' ? 4 : 1;
      expect(generateSecret(spec(smallest, true)).length).toBeGreaterThan(0);
    }
  });

  it('says the smallest size; the text form names its :weak suffix, never a library option', () => {
    let err: CofferError | undefined;
    try {
      generateSecret({ kind: 'hex', bytes: 4 });
    } catch (e) {
      err = e as CofferError;
    }
    expect(err?.hint).toBe('Use bytes 8 or more.');
    try {
      parseGeneratorSpec('hex:4');
    } catch (e) {
      err = e as CofferError;
    }
    expect(err?.hint).toBe(
      'Use bytes 8 or more. To allow a shorter one on purpose, end the spec with ":weak".',
    );
  });

  it('refuses absurd, non-integer and misplaced sizes even with allowWeak', () => {
    const bad: unknown[] = [
      { kind: 'hex', bytes: 4097, allowWeak: true },
      { kind: 'alnum', length: 4097, allowWeak: true },
      { kind: 'hex', bytes: 0, allowWeak: true },
      { kind: 'hex', bytes: -8, allowWeak: true },
      { kind: 'hex', bytes: 16.5 },
      { kind: 'hex', bytes: Number.NaN },
      { kind: 'hex', bytes: '32' },
      { kind: 'password', length: 3, allowWeak: true },
      { kind: 'password', bytes: 32 },
      { kind: 'hex', length: 32 },
      { kind: 'uuid', bytes: 16 },
      { kind: 'fernet', length: 44 },
      { kind: 'hex', allowWeak: 'yes' },
      { kind: 'rot13' },
      {},
      null,
    ];
    for (const spec of bad) invalidArgument(() => generateSecret(spec as never));
    expect(generateSecret({ kind: 'hex', bytes: 4096 })).toHaveLength(8192);
  });
});

describe('generateSecret: distribution', () => {
  it('alnum characters are roughly uniform (chi-square, loose bounds)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const perChar = 500;
    const counts = new Map<string, number>();
    for (let i = 0; i < perChar; i++) {
      for (const c of generateSecret({ kind: 'alnum', length: 62 })) {
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
    }
    expect(counts.size).toBe(62);
    let chi2 = 0;
    for (const c of alphabet) chi2 += ((counts.get(c) ?? 0) - perChar) ** 2 / perChar;
    // 61 degrees of freedom: mean 61, sd 11. P(chi2 < 15) and P(chi2 > 160) are both below
    // 1e-9, so a fair source never fails; a `byte % 62` bias (chi2 around 250) or a constant or
    // cycling source does.
    expect(chi2).toBeGreaterThan(15);
    expect(chi2).toBeLessThan(160);
  });
});
