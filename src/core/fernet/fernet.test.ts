/**
 * Fernet: the spec's conformance vectors (test/vectors/fernet, see its README), then property
 * tests for round trips, tampering, wrong keys, time limits and secret-free error messages.
 * The cross-check against Python `cryptography` is in fernet-python.test.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { fernetDecrypt, fernetEncrypt, generateFernetKey } from './fernet.js';
import * as fernet from './index.js';
import { fernetDecryptAny, fernetRotate } from './multi-fernet.js';

interface Vector {
  token: string;
  now: string;
  secret: string;
  src?: string;
  iv?: number[];
  ttl_sec?: number;
  desc?: string;
}

const vectorDir = join(import.meta.dirname, '../../../test/vectors/fernet');
const load = (name: string): Vector[] =>
  JSON.parse(readFileSync(join(vectorDir, name), 'utf8')) as Vector[];
const seconds = (iso: string): number => Date.parse(iso) / 1000;

const keyArb = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('base64').replaceAll('+', '-').replaceAll('/', '_'));
const dataArb = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ unit: 'grapheme' }));
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Runs `fn`, expects a CofferError with `code`, and returns it. */
function failure(fn: () => unknown, code = 'INTEGRITY_FAILURE'): CofferError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe(code);
    return err as CofferError;
  }
  throw new Error('expected a CofferError');
}

/** Everything about an error a front end or a log could show. */
function errorText(err: CofferError): string {
  const cause = err.cause instanceof Error ? `${err.cause.message} ${err.cause.stack}` : '';
  return `${err.message} ${err.hint} ${err.stack} ${cause}`;
}

describe('Fernet spec vectors', () => {
  it('are the byte-for-byte copies whose SHA-256 the README records', () => {
    const readme = readFileSync(join(vectorDir, 'README.md'), 'utf8');
    for (const name of ['generate.json', 'verify.json', 'invalid.json']) {
      const digest = createHash('sha256')
        .update(readFileSync(join(vectorDir, name)))
        .digest('hex');
      expect(readme).toContain(`${digest}  ${name}`);
    }
  });

  it.each(load('generate.json'))('generate: encrypts to the exact token', (v) => {
    const iv = Uint8Array.from(v.iv!);
    expect(fernetEncrypt(v.secret, v.src!, { iv, now: seconds(v.now) })).toBe(v.token);
  });

  it.each(load('verify.json'))('verify: decrypts to the source', (v) => {
    const out = fernetDecrypt(v.secret, v.token, { ttl: v.ttl_sec!, now: seconds(v.now) });
    expect(out.toString('utf8')).toBe(v.src);
    // Without a TTL the timestamp is not checked, so today's clock accepts it too.
    expect(fernetDecrypt(v.secret, v.token).toString('utf8')).toBe(v.src);
  });

  it.each(load('invalid.json'))('invalid: rejects "$desc"', (v) => {
    const err = failure(() =>
      fernetDecrypt(v.secret, v.token, { ttl: v.ttl_sec!, now: seconds(v.now) }),
    );
    expect(err.message).toBe('invalid Fernet token');
  });

  it('without a TTL, skips time checks like Python (far-future and expired tokens pass)', () => {
    for (const v of load('invalid.json').filter((x) => /TS|TTL/.test(x.desc!))) {
      // Both tokens hold an empty plaintext (Python cryptography 48 decrypts them to b'').
      expect(fernetDecrypt(v.secret, v.token, { now: seconds(v.now) }).length).toBe(0);
    }
  });
});

describe('fernetEncrypt / fernetDecrypt', () => {
  it('round-trips any data under any key', () => {
    fc.assert(
      fc.property(keyArb, dataArb, fc.integer({ min: 0, max: 2 ** 40 }), (key, data, now) => {
        const token = fernetEncrypt(key, data, { now });
        const expected = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
        expect(fernetDecrypt(key, token)).toEqual(expected);
        expect(fernetDecrypt(key, token, { ttl: 0, now })).toEqual(expected);
      }),
    );
  });

  it('writes the version byte, the timestamp and a fresh IV each time', () => {
    const key = generateFernetKey();
    const a = Buffer.from(fernetEncrypt(key, 'x', { now: 1234 }), 'base64url');
    const b = Buffer.from(fernetEncrypt(key, 'x', { now: 1234 }), 'base64url');
    expect(a[0]).toBe(0x80);
    expect(a.readBigUInt64BE(1)).toBe(1234n);
    expect(a.length).toBe(1 + 8 + 16 + 16 + 32);
    expect(a.subarray(9, 25).equals(b.subarray(9, 25))).toBe(false);
  });

  it('rejects a token with any single character changed', () => {
    fc.assert(
      fc.property(keyArb, dataArb, fc.nat(), fc.nat(), (key, data, pos, pick) => {
        const token = fernetEncrypt(key, data);
        const i = pos % token.length;
        const choices = `${ALPHABET}=+/ `.replace(token[i]!, '');
        const changed = token.slice(0, i) + choices[pick % choices.length] + token.slice(i + 1);
        failure(() => fernetDecrypt(key, changed));
      }),
    );
  });

  it('rejects a token with any single bit of its bytes flipped', () => {
    fc.assert(
      fc.property(keyArb, dataArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (key, d, pos, bit) => {
        const raw = Buffer.from(fernetEncrypt(key, d), 'base64url');
        raw[pos % raw.length]! ^= 1 << bit;
        const token = raw.toString('base64').replaceAll('+', '-').replaceAll('/', '_');
        failure(() => fernetDecrypt(key, token));
      }),
    );
  });

  it('rejects truncated and extended tokens', () => {
    const key = generateFernetKey();
    const raw = Buffer.from(fernetEncrypt(key, 'some plaintext'), 'base64url');
    for (let n = 0; n < raw.length; n++) {
      failure(() => fernetDecrypt(key, raw.subarray(0, n).toString('base64url')));
    }
    const longer = Buffer.concat([raw, Buffer.alloc(16)]).toString('base64');
    failure(() => fernetDecrypt(key, longer.replaceAll('+', '-').replaceAll('/', '_')));
  });

  it('rejects a token made with another key', () => {
    fc.assert(
      fc.property(keyArb, keyArb, dataArb, (k1, k2, data) => {
        fc.pre(k1 !== k2);
        failure(() => fernetDecrypt(k2, fernetEncrypt(k1, data)));
      }),
    );
  });

  it('accepts only canonical url-safe base64 with padding', () => {
    const key = generateFernetKey();
    let token = fernetEncrypt(key, 'x');
    while (!/[-_]/.test(token)) token = fernetEncrypt(key, 'x');
    const variants = [
      token.replaceAll('-', '+').replaceAll('_', '/'),
      token.replace(/=+$/, ''),
      ` ${token}`,
      `${token}\n`,
      `${token.slice(0, 20)}\n${token.slice(20)}`,
    ];
    for (const t of variants) failure(() => fernetDecrypt(key, t));
  });

  it('applies the TTL and a 60-second clock-skew limit at the boundaries', () => {
    const key = generateFernetKey();
    const t = 1_700_000_000;
    const token = fernetEncrypt(key, 'x', { now: t });
    expect(fernetDecrypt(key, token, { ttl: 10, now: t + 10 }).toString()).toBe('x');
    failure(() => fernetDecrypt(key, token, { ttl: 10, now: t + 11 }));
    expect(fernetDecrypt(key, token, { ttl: 10, now: t - 60 }).toString()).toBe('x');
    failure(() => fernetDecrypt(key, token, { ttl: 10, now: t - 61 }));
    // The default clock: a fresh token is valid, one stamped an hour ahead is not.
    expect(fernetDecrypt(key, fernetEncrypt(key, 'y'), { ttl: 5 }).toString()).toBe('y');
    const ahead = fernetEncrypt(key, 'y', { now: Math.floor(Date.now() / 1000) + 3600 });
    failure(() => fernetDecrypt(key, ahead, { ttl: 5 }));
  });

  it('rejects malformed keys and options with INVALID_ARGUMENT', () => {
    const key = generateFernetKey();
    const badKeys = [
      '',
      key.slice(0, 43),
      `${key}=`,
      key.replace(/.$/, 'A'),
      `${'A'.repeat(42)}B=`, // non-zero unused bits
      `${'A'.repeat(42)}+=`,
      Buffer.alloc(32, 1).toString('hex'),
      Buffer.alloc(16, 1).toString('base64'),
    ];
    for (const k of badKeys) failure(() => fernetEncrypt(k, 'x'), 'INVALID_ARGUMENT');
    for (const k of badKeys) failure(() => fernetDecrypt(k, 'x'), 'INVALID_ARGUMENT');
    const bad = 'INVALID_ARGUMENT';
    failure(() => fernetEncrypt(key, 'x', { iv: new Uint8Array(15) }), bad);
    failure(() => fernetEncrypt(key, 'x', { now: -1 }), bad);
    failure(() => fernetEncrypt(key, 'x', { now: 1.5 }), bad);
    failure(() => fernetDecrypt(key, fernetEncrypt(key, 'x'), { ttl: -1 }), bad);
    failure(() => fernetDecrypt(key, fernetEncrypt(key, 'x'), { ttl: 1, now: Number.NaN }), bad);
  });

  it('never puts the key or the plaintext into an error', () => {
    const sentinel = 'SENTINEL-7f3a-secret';
    fc.assert(
      fc.property(keyArb, fc.string(), fc.nat(), (key, extra, pos) => {
        const plaintext = `${sentinel}${extra}`;
        const token = fernetEncrypt(key, plaintext);
        const i = pos % (token.length - 2);
        const broken = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
        const wrongKey = generateFernetKey();
        const errors = [
          failure(() => fernetDecrypt(key, broken)),
          failure(() => fernetDecrypt(wrongKey, token)),
          failure(() => fernetDecryptAny([wrongKey, wrongKey], token)),
          failure(() => fernetEncrypt(`${key}x`, plaintext), 'INVALID_ARGUMENT'),
          failure(() => fernetDecrypt(key.slice(1), token), 'INVALID_ARGUMENT'),
          failure(() => fernetRotate([key, `${sentinel}${key}`], token), 'INVALID_ARGUMENT'),
        ];
        for (const err of errors) {
          const text = errorText(err);
          for (const secret of [key, key.slice(0, 43), key.slice(1), sentinel, wrongKey]) {
            expect(text).not.toContain(secret);
          }
        }
      }),
      { numRuns: 50 },
    );
  });

  it('generateFernetKey gives distinct 44-character keys of 32 bytes', () => {
    const keys = new Set(Array.from({ length: 100 }, generateFernetKey));
    expect(keys.size).toBe(100);
    for (const k of keys) {
      expect(k).toMatch(/^[A-Za-z0-9_-]{43}=$/);
      expect(Buffer.from(k, 'base64url').length).toBe(32);
    }
  });
});

describe('coffer/fernet short names', () => {
  it('generateKey, encrypt and decrypt(key, token, { ttl }) are the Fernet functions', () => {
    const key = fernet.generateKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    const token = fernet.encrypt(key, 'api key at rest', { now: 2000 });
    expect(fernetDecrypt(key, token).toString()).toBe('api key at rest');
    expect(fernet.decrypt(key, token, { ttl: 60, now: 2060 }).toString()).toBe('api key at rest');
    failure(() => fernet.decrypt(key, token, { ttl: 60, now: 2061 }));
  });
});

describe('fernetDecryptAny / fernetRotate', () => {
  const [k1, k2, k3] = [generateFernetKey(), generateFernetKey(), generateFernetKey()];

  it('decrypts with whichever key fits and fails when none does', () => {
    const token = fernetEncrypt(k1, 'payload', { now: 1000 });
    expect(fernetDecryptAny([k2, k1], token).toString()).toBe('payload');
    expect(fernetDecryptAny([k1], token, { ttl: 5, now: 1005 }).toString()).toBe('payload');
    failure(() => fernetDecryptAny([k1, k2], token, { ttl: 5, now: 1006 }));
    failure(() => fernetDecryptAny([k2, k3], token));
    failure(() => fernetDecryptAny([k1], 'not a token'));
  });

  it('rotates to the first key, keeping the timestamp, with a new IV', () => {
    const token = fernetEncrypt(k1, 'payload', { now: 1000 });
    const rotated = fernetRotate([k2, k1], token);
    expect(fernetDecrypt(k2, rotated).toString()).toBe('payload');
    failure(() => fernetDecrypt(k1, rotated));
    const before = Buffer.from(token, 'base64url');
    const after = Buffer.from(rotated, 'base64url');
    expect(after.readBigUInt64BE(1)).toBe(1000n);
    expect(after.subarray(9, 25).equals(before.subarray(9, 25))).toBe(false);
    // An old token still rotates (no TTL), and rotating twice is harmless.
    expect(fernetDecrypt(k2, fernetRotate([k2], rotated)).toString()).toBe('payload');
    failure(() => fernetRotate([k3, k2], token));
  });

  it('checks the key list before touching the token', () => {
    const err = failure(() => fernetDecryptAny([], 'x'), 'INVALID_ARGUMENT');
    expect(err.message).toMatch(/empty/);
    const bad = failure(() => fernetRotate([k1, 'short'], 'x'), 'INVALID_ARGUMENT');
    expect(bad.message).toMatch(/position 2 of 2/);
  });
});
