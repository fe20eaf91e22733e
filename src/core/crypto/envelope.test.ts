/**
 * The v1 envelope format: the frozen conformance vectors (test/vectors/envelope-v1.json, made
 * by an independent implementation of docs/format.md; see test/vectors/README.md), then
 * property tests for round trips, tampering, moved rows and secret-free error messages.
 *
 * The vectors are data: this file reads them and never regenerates them.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError, type ErrorCode } from '../errors.js';
import {
  FORMAT_V1,
  openKek,
  openSecret,
  openValue,
  type SecretSlot,
  sealKek,
  sealSecret,
  sealValue,
  unwrapDataKey,
  WRAPPED_KEY_BYTES,
  wrapDataKey,
} from './envelope.js';

interface PositiveVector {
  name: string;
  masterKey: string;
  masterCheck: string;
  kekId: string;
  kek: string;
  kekNonce: string;
  sealedKek: string;
  path: string;
  env: string;
  version: number;
  dek: string;
  wrapNonce: string;
  wrappedDek: string;
  valueNonce: string;
  ciphertext: string;
  plaintext: string;
  plaintextHex: string;
}

interface NegativeVector {
  name: string;
  description: string;
  operation: 'openKek' | 'unwrapDataKey' | 'openValue' | 'openSecret';
  expectedError: ErrorCode;
  masterKey?: string;
  kek?: string;
  kekId?: string;
  sealedKek?: string;
  dek?: string;
  wrappedDek?: string;
  ciphertext?: string;
  path?: string;
  env?: string;
  version?: number;
}

interface VectorFile {
  header: { format: string; version: number; description: string; generatedBy: string };
  positive: PositiveVector[];
  negative: NegativeVector[];
}

const VECTOR_FILE = join(import.meta.dirname, '../../../test/vectors/envelope-v1.json');
/** The vectors are frozen at v1: any change to the file is a format change. */
const VECTOR_SHA256 = '36245e903f72d7687580b5e31cbeb0909a1c2067a95ce9fe71d5a936f86f6ced';
const vectorText = readFileSync(VECTOR_FILE, 'utf8');
const vectors = JSON.parse(vectorText) as VectorFile;

const hex = (h: string | undefined): Buffer => {
  if (h === undefined) throw new Error('vector field missing');
  return Buffer.from(h, 'hex');
};
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const slotOf = (v: { path?: string; env?: string; version?: number }): SecretSlot => {
  if (v.path === undefined || v.env === undefined || v.version === undefined) {
    throw new Error('vector slot missing');
  }
  return { path: v.path, env: v.env, version: v.version };
};
const field = (v: string | undefined): string => {
  if (v === undefined) throw new Error('vector field missing');
  return v;
};

/** Runs `fn`, expects a CofferError (any of `codes`), and returns it; fails if bytes come back. */
function failure(fn: () => unknown, codes: readonly ErrorCode[]): CofferError {
  let returned: unknown;
  try {
    returned = fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CofferError);
    expect(codes).toContain((err as CofferError).code);
    return err as CofferError;
  }
  throw new Error(`expected ${codes.join(' or ')}, but it returned ${typeof returned}`);
}

function runNegative(v: NegativeVector): unknown {
  switch (v.operation) {
    case 'openKek':
      return openKek(hex(v.masterKey), field(v.kekId), hex(v.sealedKek));
    case 'unwrapDataKey':
      return unwrapDataKey(hex(v.kek), field(v.kekId), hex(v.wrappedDek), slotOf(v));
    case 'openValue':
      return openValue(hex(v.dek), hex(v.ciphertext), slotOf(v));
    case 'openSecret':
      return openSecret(
        hex(v.kek),
        field(v.kekId),
        hex(v.wrappedDek),
        hex(v.ciphertext),
        slotOf(v),
      );
  }
}

describe('envelope-v1.json conformance vectors', () => {
  it('is the frozen v1 file with its header', () => {
    expect(createHash('sha256').update(vectorText).digest('hex')).toBe(VECTOR_SHA256);
    expect(vectors.header).toMatchObject({ format: 'coffer-envelope', version: 1 });
    expect(vectors.header.generatedBy).toContain('scripts/make-envelope-vectors.mjs');
    expect(vectors.positive.length).toBeGreaterThanOrEqual(6);
    expect(vectors.negative.length).toBeGreaterThanOrEqual(40);
  });

  describe.each(vectors.positive.map((v) => [v.name, v] as const))('positive: %s', (_, v) => {
    const slot = slotOf(v);

    it('opens: sealed KEK, wrapped DEK, value and the whole secret', () => {
      expect(toHex(openKek(hex(v.masterKey), v.kekId, hex(v.sealedKek)))).toBe(v.kek);
      expect(toHex(unwrapDataKey(hex(v.kek), v.kekId, hex(v.wrappedDek), slot))).toBe(v.dek);
      const value = openValue(hex(v.dek), hex(v.ciphertext), slot);
      expect(value.toString('utf8')).toBe(v.plaintext);
      expect(toHex(value)).toBe(v.plaintextHex);
      const secret = openSecret(hex(v.kek), v.kekId, hex(v.wrappedDek), hex(v.ciphertext), slot);
      expect(secret.toString('utf8')).toBe(v.plaintext);
    });

    it('seals to exactly the same bytes with the fixed nonces', () => {
      expect(toHex(sealKek(hex(v.masterKey), v.kekId, hex(v.kek), hex(v.kekNonce)))).toBe(
        v.sealedKek,
      );
      expect(toHex(wrapDataKey(hex(v.kek), v.kekId, hex(v.dek), slot, hex(v.wrapNonce)))).toBe(
        v.wrappedDek,
      );
      const plaintext = Buffer.from(v.plaintext, 'utf8');
      expect(toHex(sealValue(hex(v.dek), plaintext, slot, hex(v.valueNonce)))).toBe(v.ciphertext);
    });

    it('has the v1 layout', () => {
      for (const sealed of [v.sealedKek, v.wrappedDek, v.ciphertext]) {
        expect(hex(sealed)[0]).toBe(FORMAT_V1);
      }
      expect(hex(v.sealedKek).length).toBe(WRAPPED_KEY_BYTES);
      expect(hex(v.wrappedDek).length).toBe(WRAPPED_KEY_BYTES);
      expect(hex(v.ciphertext).length).toBe(1 + 12 + Buffer.byteLength(v.plaintext) + 16);
    });
  });

  it.each(vectors.negative.map((v) => [v.name, v] as const))('negative: %s', (_, v) => {
    const err = failure(() => runNegative(v), [v.expectedError]);
    expect(err.code).toBe(v.expectedError);
  });
});

// ---- property tests ----------------------------------------------------------------------

const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const textArb = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
);
/** Path/env text: any string without U+0000 (the AAD field separator). */
const nameArb = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 40 })
  .filter((s) => !s.includes('\u0000'));
const slotArb: fc.Arbitrary<SecretSlot> = fc.record({
  path: nameArb,
  env: nameArb,
  version: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
});
/** A slot that differs from `slot` in exactly one field. */
const otherSlotArb = (slot: SecretSlot): fc.Arbitrary<SecretSlot> =>
  fc.oneof(
    nameArb.filter((p) => p !== slot.path).map((path) => ({ ...slot, path })),
    nameArb.filter((e) => e !== slot.env).map((env) => ({ ...slot, env })),
    fc
      .integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
      .filter((n) => n !== slot.version)
      .map((version) => ({ ...slot, version })),
  );

/** 64 KiB of UTF-8 exactly: 1-, 2-, 3- and 4-byte characters. */
const BIG_VALUE = `${'aé€🔑'.repeat(6553)}xxxxxx`;

describe('sealSecret / openSecret properties', () => {
  it('round-trip any string at any slot (empty, unicode, 64 KiB included)', () => {
    expect(Buffer.byteLength(BIG_VALUE)).toBe(64 * 1024);
    fc.assert(
      fc.property(
        keyArb,
        fc.constantFrom('k1', 'k2', 'k7', 'k123'),
        textArb,
        slotArb,
        (kek, id, text, slot) => {
          const { wrappedDek, ciphertext } = sealSecret(kek, id, Buffer.from(text, 'utf8'), slot);
          expect(wrappedDek.length).toBe(WRAPPED_KEY_BYTES);
          expect(ciphertext.length).toBe(29 + Buffer.byteLength(text));
          expect(openSecret(kek, id, wrappedDek, ciphertext, slot).toString('utf8')).toBe(text);
        },
      ),
      {
        numRuns: 200,
        examples: [
          [new Uint8Array(32), 'k1', '', { path: 'project/a/b', env: 'dev', version: 1 }],
          [
            new Uint8Array(32).fill(7),
            'k2',
            'pässwörd 秘密 🔑 cafe\u0301',
            { path: 'meta/x/y', env: 'prod', version: 2 },
          ],
          [
            new Uint8Array(32).fill(255),
            'k7',
            BIG_VALUE,
            { path: 'project/big/value', env: 'dev', version: 3 },
          ],
        ],
      },
    );
  });

  it('round-trips a 64 KiB value', () => {
    const kek = new Uint8Array(32).fill(1);
    const slot = { path: 'project/big/value', env: 'prod', version: 9 };
    const sealed = sealSecret(kek, 'k1', Buffer.from(BIG_VALUE, 'utf8'), slot);
    expect(sealed.ciphertext.length).toBe(1 + 12 + 64 * 1024 + 16);
    expect(openSecret(kek, 'k1', sealed.wrappedDek, sealed.ciphertext, slot).toString('utf8')).toBe(
      BIG_VALUE,
    );
  });

  it('uses a fresh data key and nonce each time', () => {
    const kek = new Uint8Array(32).fill(2);
    const slot = { path: 'project/a/b', env: 'dev', version: 1 };
    const a = sealSecret(kek, 'k1', Buffer.from('same'), slot);
    const b = sealSecret(kek, 'k1', Buffer.from('same'), slot);
    expect(a.wrappedDek.equals(b.wrappedDek)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it('flipping any single bit of the wrapped DEK or the ciphertext makes opening fail', () => {
    fc.assert(
      fc.property(
        keyArb,
        textArb,
        slotArb,
        fc.boolean(),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (kek, text, slot, inDek, pos, bit) => {
          const sealed = sealSecret(kek, 'k1', Buffer.from(text, 'utf8'), slot);
          const target = inDek ? sealed.wrappedDek : sealed.ciphertext;
          const index = pos % target.length;
          target[index]! ^= 1 << bit;
          const err = failure(
            () => openSecret(kek, 'k1', sealed.wrappedDek, sealed.ciphertext, slot),
            ['INTEGRITY_FAILURE', 'UNSUPPORTED_FORMAT'],
          );
          // Byte 0 is the format byte: any change to it is an unknown format, not tampering.
          expect(err.code).toBe(index === 0 ? 'UNSUPPORTED_FORMAT' : 'INTEGRITY_FAILURE');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a row opened at another path, env or version fails', () => {
    fc.assert(
      fc.property(
        keyArb,
        textArb,
        slotArb.chain((slot) => fc.tuple(fc.constant(slot), otherSlotArb(slot))),
        (kek, text, [slot, other]) => {
          const plaintext = Buffer.from(text, 'utf8');
          const sealed = sealSecret(kek, 'k1', plaintext, slot);
          failure(
            () => openSecret(kek, 'k1', sealed.wrappedDek, sealed.ciphertext, other),
            ['INTEGRITY_FAILURE'],
          );
          // Each layer binds the slot on its own: the DEK and the value.
          failure(() => unwrapDataKey(kek, 'k1', sealed.wrappedDek, other), ['INTEGRITY_FAILURE']);
          const dek = new Uint8Array(32).fill(9);
          const ct = sealValue(dek, plaintext, slot);
          failure(() => openValue(dek, ct, other), ['INTEGRITY_FAILURE']);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a wrapped DEK moved to another key id, or opened with another KEK, fails', () => {
    fc.assert(
      fc.property(keyArb, keyArb, slotArb, (kek, otherKek, slot) => {
        fc.pre(Buffer.compare(kek, otherKek) !== 0);
        const sealed = sealSecret(kek, 'k1', Buffer.from('v'), slot);
        failure(() => unwrapDataKey(kek, 'k2', sealed.wrappedDek, slot), ['INTEGRITY_FAILURE']);
        failure(
          () => unwrapDataKey(otherKek, 'k1', sealed.wrappedDek, slot),
          ['INTEGRITY_FAILURE'],
        );
      }),
      { numRuns: 50 },
    );
  });

  it('error messages never contain the plaintext', () => {
    fc.assert(
      fc.property(
        keyArb,
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        slotArb,
        (kek, extra, slot) => {
          const secret = `SENTINEL-7f3a9c-${extra}`;
          const plaintext = Buffer.from(secret, 'utf8');
          const sealed = sealSecret(kek, 'k1', plaintext, slot);
          const otherKek = new Uint8Array(kek).map((b) => b ^ 0xff);
          const flipped = Buffer.from(sealed.ciphertext);
          flipped[flipped.length - 1]! ^= 1;
          const v2 = Buffer.from(sealed.ciphertext);
          v2[0] = 2;
          const attempts: (() => unknown)[] = [
            () => openSecret(otherKek, 'k1', sealed.wrappedDek, sealed.ciphertext, slot),
            () => openSecret(kek, 'k9', sealed.wrappedDek, sealed.ciphertext, slot),
            () => openSecret(kek, 'k1', sealed.wrappedDek, flipped, slot),
            () => openSecret(kek, 'k1', sealed.wrappedDek, v2, slot),
            () => openSecret(kek, 'k1', sealed.wrappedDek, sealed.ciphertext.subarray(0, 20), slot),
            () =>
              openSecret(kek, 'k1', sealed.wrappedDek, sealed.ciphertext, {
                ...slot,
                version: slot.version + 1,
              }),
          ];
          for (const attempt of attempts) {
            const err = failure(attempt, ['INTEGRITY_FAILURE', 'UNSUPPORTED_FORMAT']);
            const shown = [
              err.message,
              err.hint ?? '',
              String(err),
              err.stack ?? '',
              String(err.cause ?? ''),
            ].join('\n');
            expect(shown).not.toContain('SENTINEL-7f3a9c');
            expect(shown).not.toContain(plaintext.toString('hex'));
            expect(shown).not.toContain(plaintext.toString('base64'));
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('argument checks', () => {
  const slot = { path: 'project/a/b', env: 'dev', version: 1 };
  it('rejects wrong key sizes with RangeError before any work', () => {
    const key = new Uint8Array(32);
    expect(() => wrapDataKey(key, 'k1', new Uint8Array(16), slot)).toThrow(RangeError);
    expect(() => sealKek(key, 'k1', new Uint8Array(31))).toThrow(RangeError);
    expect(() => sealSecret(new Uint8Array(16), 'k1', Buffer.from('v'), slot)).toThrow(RangeError);
    expect(() => sealValue(key, Buffer.from('v'), slot, new Uint8Array(8))).toThrow(RangeError);
  });
});
