/**
 * Master-key derivation and verification: scrypt against RFC 7914's test vectors (through
 * node:crypto), our parameter plumbing against scryptSync, NFC normalisation, range checks,
 * the passphrase vectors of test/vectors/envelope-v1.json and the master-key check.
 */

import { scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deriveKeyFromPassphrase,
  masterKeyCheck,
  masterKeyMatches,
  parseStoredKdf,
  type ScryptParams,
} from './kdf.js';

/**
 * RFC 7914 section 12, "Test Vectors for scrypt", vectors 1-3 (vector 4, N = 2^20, needs
 * 1 GiB and is left out). Values copied from the RFC.
 */
const RFC7914 = [
  {
    password: '',
    salt: '',
    N: 16,
    r: 1,
    p: 1,
    dk:
      '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442' +
      'fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
  },
  {
    password: 'password',
    salt: 'NaCl',
    N: 1024,
    r: 8,
    p: 16,
    dk:
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162' +
      '2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
  },
  {
    password: 'pleaseletmein',
    salt: 'SodiumChloride',
    N: 16384,
    r: 8,
    p: 1,
    dk:
      '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2' +
      'd5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887',
  },
];

const saltOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const params = (over: Partial<ScryptParams> = {}): ScryptParams => ({
  logN: 10,
  r: 8,
  p: 1,
  salt: saltOf(new Uint8Array(16).fill(5)),
  ...over,
});
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('scrypt (node:crypto) matches RFC 7914', () => {
  it.each(RFC7914)('N=$N r=$r p=$p "$password"', (v) => {
    const dk = scryptSync(v.password, v.salt, 64, { N: v.N, r: v.r, p: v.p });
    expect(dk.toString('hex')).toBe(v.dk);
    // scrypt's output is PBKDF2 output, so a 32-byte key is the first half of the 64 bytes.
    const short = scryptSync(v.password, v.salt, 32, { N: v.N, r: v.r, p: v.p });
    expect(short.toString('hex')).toBe(v.dk.slice(0, 64));
  });
});

describe('deriveKeyFromPassphrase', () => {
  it('is scryptSync with the stored parameters and a 32-byte output (RFC 7914 vector 3 cost)', () => {
    const salt = Buffer.from('SodiumChloride!!', 'utf8');
    const key = deriveKeyFromPassphrase('pleaseletmein', params({ logN: 14, salt: saltOf(salt) }));
    expect(key).toBeInstanceOf(Uint8Array);
    expect(key.length).toBe(32);
    const ref = scryptSync('pleaseletmein', salt, 32, { N: 16384, r: 8, p: 1 });
    expect(toHex(key)).toBe(ref.toString('hex'));
  });

  it('passes logN, r, p and salt through to scrypt', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }),
        fc.uint8Array({ minLength: 16, maxLength: 32 }),
        fc.integer({ min: 10, max: 11 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 2 }),
        (pass, salt, logN, r, p) => {
          const key = deriveKeyFromPassphrase(pass, { logN, r, p, salt: saltOf(salt) });
          const ref = scryptSync(pass.normalize('NFC'), salt, 32, { N: 2 ** logN, r, p });
          expect(toHex(key)).toBe(ref.toString('hex'));
        },
      ),
      { numRuns: 20 },
    );
  });

  it('normalises the passphrase to NFC (and only NFC)', () => {
    const composed = deriveKeyFromPassphrase('caf\u00e9', params());
    const decomposed = deriveKeyFromPassphrase('cafe\u0301', params());
    expect(toHex(decomposed)).toBe(toHex(composed));
    expect(toHex(deriveKeyFromPassphrase('cafe', params()))).not.toBe(toHex(composed));
    // NFC keeps compatibility characters: the ligature U+FB01 is not "fi".
    const ligature = deriveKeyFromPassphrase('\ufb01x', params());
    expect(toHex(ligature)).not.toBe(toHex(deriveKeyFromPassphrase('fix', params())));
  });

  it('depends on every parameter', () => {
    const base = toHex(deriveKeyFromPassphrase('passphrase', params()));
    const variants: Partial<ScryptParams>[] = [
      { logN: 11 },
      { r: 7 },
      { p: 2 },
      { salt: saltOf(new Uint8Array(16).fill(6)) },
    ];
    for (const over of variants) {
      expect(toHex(deriveKeyFromPassphrase('passphrase', params(over)))).not.toBe(base);
    }
  });

  it('throws RangeError for out-of-range parameters, before any work', () => {
    const bad: Partial<ScryptParams>[] = [
      { logN: 9 },
      { logN: 23 },
      { logN: 10.5 },
      { logN: Number.NaN },
      { r: 0 },
      { r: 33 },
      { r: 1.5 },
      { p: 0 },
      { p: 17 },
      { salt: saltOf(new Uint8Array(15)) },
      { salt: '' },
    ];
    for (const over of bad) {
      expect(
        () => deriveKeyFromPassphrase('passphrase', params(over)),
        JSON.stringify(over),
      ).toThrow(RangeError);
    }
  });

  it('throws TypeError for a passphrase that is not a string', () => {
    for (const pass of [undefined, 42, Buffer.from('x')]) {
      expect(() => deriveKeyFromPassphrase(pass as unknown as string, params())).toThrow(TypeError);
    }
  });
});

interface KdfVector {
  name: string;
  passphrase: string;
  passphraseHex: string;
  kdf: ScryptParams;
  metaKdf: string;
  masterKey: string;
  masterCheck: string;
}

describe('passphrase vectors in test/vectors/envelope-v1.json', () => {
  const file = join(import.meta.dirname, '../../../test/vectors/envelope-v1.json');
  const { kdf } = JSON.parse(readFileSync(file, 'utf8')) as { kdf: KdfVector[] };

  it('has the composed/decomposed pair', () => {
    expect(kdf.map((v) => v.name)).toEqual(['composed', 'decomposed', 'ascii']);
    expect(kdf[0]!.masterKey).toBe(kdf[1]!.masterKey);
  });

  it.each(kdf.map((v) => [v.name, v] as const))('%s', (_, v) => {
    expect(Buffer.from(v.passphrase, 'utf8').toString('hex')).toBe(v.passphraseHex);
    const stored = JSON.parse(v.metaKdf) as ScryptParams;
    expect(stored).toEqual(v.kdf);
    const key = deriveKeyFromPassphrase(v.passphrase, stored);
    expect(toHex(key)).toBe(v.masterKey);
    expect(masterKeyCheck(key)).toBe(v.masterCheck);
    expect(masterKeyMatches(key, v.masterCheck)).toBe(true);
  });
});

describe('master-key check', () => {
  // HMAC-SHA256(key, "coffer/master-key-check/v1"), base64; computed independently with
  // `openssl dgst -sha256 -mac HMAC -macopt hexkey:<key> -binary | base64`.
  const KNOWN = [
    { key: '00'.repeat(32), check: 'ntl3KJ2bCfr4phQKwOObHbWQTq/foxmPWK/9DvkJEKM=' },
    {
      key: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
      check: '1JhKYBbPYD0EKoKEUfkRZZgzgi4kNGb+IeiR/ZP6mLA=',
    },
  ];

  it.each(KNOWN)('known answer for key $key', ({ key, check }) => {
    expect(masterKeyCheck(Buffer.from(key, 'hex'))).toBe(check);
    expect(masterKeyMatches(Buffer.from(key, 'hex'), check)).toBe(true);
  });

  it('matches its own key and no other', () => {
    const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(key, key, (a, b) => {
        fc.pre(Buffer.compare(a, b) !== 0);
        const check = masterKeyCheck(a);
        expect(check).toMatch(/^[A-Za-z0-9+/]{43}=$/);
        expect(masterKeyMatches(a, check)).toBe(true);
        expect(masterKeyMatches(b, check)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('is false for a damaged or empty stored check', () => {
    const key = new Uint8Array(32).fill(3);
    const check = masterKeyCheck(key);
    const raw = Buffer.from(check, 'base64');
    expect(masterKeyMatches(key, '')).toBe(false);
    expect(masterKeyMatches(key, raw.subarray(0, 31).toString('base64'))).toBe(false);
    expect(masterKeyMatches(key, Buffer.concat([raw, Buffer.from([0])]).toString('base64'))).toBe(
      false,
    );
    raw[0]! ^= 1;
    expect(masterKeyMatches(key, raw.toString('base64'))).toBe(false);
  });
});

describe('parseStoredKdf', () => {
  const salt = Buffer.alloc(16, 7).toString('base64');
  it('accepts what coffer writes and refuses work an attacker chose', () => {
    expect(parseStoredKdf(JSON.stringify({ logN: 18, r: 8, p: 1, salt }))).toEqual({
      logN: 18,
      r: 8,
      p: 1,
      salt,
    });
    for (const bad of [
      { logN: 18, r: 32, p: 16, salt }, // 16 GiB for minutes
      { logN: 22, r: 8, p: 2, salt }, // twice the costliest vault coffer makes
      { logN: 23, r: 8, p: 1, salt },
      { logN: 18, r: 9, p: 1, salt },
      { logN: 18, r: 8, p: 3, salt },
      { logN: 9, r: 8, p: 1, salt },
      { logN: 18.5, r: 8, p: 1, salt },
      { logN: 18, r: 8, p: 1, salt: 'c2hvcnQ=' },
      { logN: '18', r: 8, p: 1, salt },
      null,
      [],
    ]) {
      expect(() => parseStoredKdf(JSON.stringify(bad))).toThrow(
        expect.objectContaining({ code: 'INTEGRITY_FAILURE' }),
      );
    }
    // The costliest vault `coffer init` makes, and the same work otherwise split, still open.
    for (const ok of [
      { logN: 22, r: 8, p: 1, salt },
      { logN: 21, r: 8, p: 2, salt },
      { logN: 10, r: 1, p: 1, salt },
    ]) {
      expect(parseStoredKdf(JSON.stringify(ok))).toEqual(ok);
    }
    expect(() => parseStoredKdf('{not json')).toThrow(
      expect.objectContaining({ code: 'INTEGRITY_FAILURE' }),
    );
  });
});
