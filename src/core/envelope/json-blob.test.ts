/**
 * encryptJsonBlob / decryptJsonBlob: round trips of random JSON, and the promise that a
 * flipped byte, a wrong context or a missing key gives an error and never a value; the
 * plaintext policy (refuse, allow with one warning, migration mode).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { errorOf } from '../../../test/helpers/errors.js';
import { decryptJsonBlob, encryptJsonBlob, envelopeKeyId, openJsonBlob } from './json-blob.js';
import { createKeyring } from './keyring.js';

const key = () => new Uint8Array(randomBytes(32));
const k1 = key();
const k2 = key();
const ring = createKeyring([{ id: 'k1', key: k1 }]);
const rotated = createKeyring([
  { id: 'k2', key: k2 },
  { id: 'k1', key: k1 },
]);
const ctx = 'external_accounts/access_token/42';
/** What a JSON value is after a trip through JSON text (-0 becomes 0, etc.). */
const normal = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

describe('encryptJsonBlob / decryptJsonBlob', () => {
  it('round-trips any JSON value, and the envelope names the key', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (value, context) => {
        const stored = encryptJsonBlob(value, ring, { context });
        expect(envelopeKeyId(stored)).toBe('k1');
        expect(decryptJsonBlob(stored, ring, { context })).toEqual(normal(value));
      }),
      { numRuns: 200 },
    );
  });

  it('writes the documented shape, one line of JSON text', () => {
    const stored = encryptJsonBlob({ access_token: 'a' }, ring, { context: ctx });
    expect(stored).toMatch(
      /^\{"coffer":1,"kid":"k1","iv":"[A-Za-z0-9_-]{16}","ct":"[A-Za-z0-9_-]+"\}$/,
    );
    const again = encryptJsonBlob({ access_token: 'a' }, ring, { context: ctx });
    expect(again).not.toBe(stored); // a fresh nonce each time
  });

  it('any flipped byte is an error, never a value (also in migration mode)', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 2 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (value, at, mask, migration) => {
          const bytes = Buffer.from(encryptJsonBlob(value, ring, { context: ctx }), 'utf8');
          const i = at % bytes.length;
          bytes[i] = bytes[i]! ^ mask;
          const err = errorOf(() =>
            decryptJsonBlob(bytes.toString('utf8'), ring, {
              context: ctx,
              allowPlaintext: migration,
            }),
          );
          expect(['INTEGRITY_FAILURE', 'UNSUPPORTED_FORMAT', 'KEY_NOT_FOUND']).toContain(err.code);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a wrong context is an error: an envelope copied to another row does not open', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 }), fc.string(), fc.string(), (value, a, b) => {
        fc.pre(a !== b);
        const stored = encryptJsonBlob(value, ring, { context: a });
        expect(errorOf(() => decryptJsonBlob(stored, ring, { context: b })).code).toBe(
          'INTEGRITY_FAILURE',
        );
      }),
      { numRuns: 100 },
    );
  });

  it('a key that is not in the keyring is an error; a same-id impostor key too', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 }), (value) => {
        const stored = encryptJsonBlob(value, rotated, { context: ctx });
        const err = errorOf(() => decryptJsonBlob(stored, ring, { context: ctx }));
        expect(err.code).toBe('KEY_NOT_FOUND');
        expect(err.message).toBe('no key in the keyring has id k2 (was the key rotated away?)');
        const impostor = createKeyring([{ id: 'k2', key: key() }]);
        expect(errorOf(() => decryptJsonBlob(stored, impostor, { context: ctx })).code).toBe(
          'INTEGRITY_FAILURE',
        );
      }),
      { numRuns: 50 },
    );
  });

  it('relabelling an envelope with another key id of the keyring fails', () => {
    const stored = encryptJsonBlob({ a: 1 }, ring, { context: ctx });
    const both = createKeyring([
      { id: 'k1', key: k1 },
      { id: 'k0', key: k1 },
    ]);
    const relabelled = stored.replace('"kid":"k1"', '"kid":"k0"');
    expect(errorOf(() => decryptJsonBlob(relabelled, both, { context: ctx })).code).toBe(
      'INTEGRITY_FAILURE',
    );
  });

  it('after a rotation, old envelopes open and new ones use the new primary', () => {
    const old = encryptJsonBlob({ t: 'old' }, ring, { context: ctx });
    const fresh = encryptJsonBlob({ t: 'new' }, rotated, { context: ctx });
    expect(openJsonBlob(old, rotated, { context: ctx })).toEqual({
      value: { t: 'old' },
      keyId: 'k1',
      plaintext: false,
    });
    expect(envelopeKeyId(fresh)).toBe('k2');
  });

  it('reads an envelope whose members a JSON column reordered and spaced out', () => {
    const stored = encryptJsonBlob([1, 'two'], ring, { context: ctx });
    const obj = JSON.parse(stored) as Record<string, unknown>;
    const reordered = JSON.stringify({ ct: obj.ct, iv: obj.iv, kid: obj.kid, coffer: 1 }, null, 1);
    expect(decryptJsonBlob(reordered, ring, { context: ctx })).toEqual([1, 'two']);
    expect(decryptJsonBlob(obj, ring, { context: ctx })).toEqual([1, 'two']);
  });

  it('rejects unknown versions, extra members and non-canonical base64', () => {
    const obj = JSON.parse(encryptJsonBlob('x', ring, { context: ctx })) as Record<string, string>;
    const open = (o: unknown) =>
      errorOf(() => decryptJsonBlob(JSON.stringify(o), ring, { context: ctx }));
    expect(open({ ...obj, coffer: 2 }).code).toBe('UNSUPPORTED_FORMAT');
    expect(open({ ...obj, coffer: 2 }).message).toContain('format version 2');
    expect(open({ ...obj, extra: 1 }).code).toBe('INTEGRITY_FAILURE');
    expect(open({ ...obj, iv: `${obj.iv}=` }).code).toBe('INTEGRITY_FAILURE');
    expect(open({ ...obj, iv: obj.iv!.slice(0, -1) }).code).toBe('INTEGRITY_FAILURE');
  });

  it('refuses values JSON cannot hold and contexts that are not well-formed strings', () => {
    expect(() => encryptJsonBlob(undefined, ring, { context: ctx })).toThrow(TypeError);
    expect(() => encryptJsonBlob(10n, ring, { context: ctx })).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encryptJsonBlob(cyclic, ring, { context: ctx })).toThrow(TypeError);
    expect(() => encryptJsonBlob(1, ring, { context: 'a\uD800b' })).toThrow(RangeError);
    expect(() => encryptJsonBlob(1, ring, {} as { context: string })).toThrow(TypeError);
  });
});

describe('the plaintext policy', () => {
  it('without a key, encryption refuses unless allowPlaintext; then it warns once', () => {
    const warn = vi.fn();
    const empty = createKeyring([], { warn });
    const err = errorOf(() => encryptJsonBlob({ a: 1 }, empty, { context: ctx }));
    expect(err.code).toBe('DATA_KEY_MISSING');
    expect(warn).not.toHaveBeenCalled();
    expect(encryptJsonBlob({ a: 1 }, empty, { context: ctx, allowPlaintext: true })).toBe(
      '{"a":1}',
    );
    expect(encryptJsonBlob([2], empty, { context: ctx, allowPlaintext: true })).toBe('[2]');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain('PLAINTEXT');
  });

  it('a keyring of decrypt-only keys refuses to encrypt', () => {
    const legacy = createKeyring([{ id: 'old', key: k1, decryptOnly: true }]);
    expect(legacy.primaryId).toBeUndefined();
    expect(errorOf(() => encryptJsonBlob(1, legacy, { context: ctx })).message).toContain(
      'old may only decrypt',
    );
  });

  it('decryption refuses plaintext unless in migration mode, which reports each row', () => {
    expect(
      errorOf(() => decryptJsonBlob('{"access_token":"t"}', ring, { context: ctx })).code,
    ).toBe('PLAINTEXT_REFUSED');
    const seen: string[] = [];
    const opts = { context: ctx, allowPlaintext: true, onPlaintext: (c: string) => seen.push(c) };
    expect(decryptJsonBlob('{"access_token":"t"}', ring, opts)).toEqual({ access_token: 't' });
    expect(decryptJsonBlob('ya29.raw-token', ring, opts)).toBe('ya29.raw-token');
    expect(openJsonBlob({ refresh_token: 'r' }, ring, opts)).toEqual({
      value: { refresh_token: 'r' },
      keyId: undefined,
      plaintext: true,
    });
    expect(seen).toEqual([ctx, ctx, ctx]);
    const stored = encryptJsonBlob({ b: 2 }, ring, { context: ctx });
    expect(decryptJsonBlob(stored, ring, opts)).toEqual({ b: 2 });
    expect(seen).toHaveLength(3);
  });
});
