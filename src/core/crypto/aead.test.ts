/**
 * AES-256-GCM wrapper: published known answers, a cross-check in both directions against raw
 * node:crypto (createCipheriv/createDecipheriv), tamper detection and argument checks.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import {
  AEAD_OVERHEAD,
  KEY_BYTES,
  NONCE_BYTES,
  openAesGcm,
  sealAesGcm,
  TAG_BYTES,
} from './aead.js';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');

/**
 * Known answers for AES-256 from D. McGrew and J. Viega, "The Galois/Counter Mode of Operation
 * (GCM)", revised submission to NIST (2005), Appendix B, test cases 13-16 (the 256-bit-key
 * cases with a 96-bit IV). Values copied from the paper.
 */
const GCM_SPEC_KEY = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
const GCM_SPEC_PLAINTEXT =
  'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
  '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
const GCM_SPEC_CIPHERTEXT =
  '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
  '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad';
const KNOWN_ANSWERS = [
  {
    name: 'test case 13: zero key, empty plaintext',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    aad: '',
    plaintext: '',
    ciphertext: '',
    tag: '530f8afbc74536b9a963b4f1c4cb738b',
  },
  {
    name: 'test case 14: zero key, one zero block',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    aad: '',
    plaintext: '00'.repeat(16),
    ciphertext: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  {
    name: 'test case 15: four blocks, no AAD',
    key: GCM_SPEC_KEY,
    iv: 'cafebabefacedbaddecaf888',
    aad: '',
    plaintext: GCM_SPEC_PLAINTEXT,
    ciphertext: GCM_SPEC_CIPHERTEXT,
    tag: 'b094dac5d93471bdec1a502270e3cc6c',
  },
  {
    name: 'test case 16: 60 bytes with 20 bytes of AAD',
    key: GCM_SPEC_KEY,
    iv: 'cafebabefacedbaddecaf888',
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    plaintext: GCM_SPEC_PLAINTEXT.slice(0, 120),
    ciphertext: GCM_SPEC_CIPHERTEXT.slice(0, 120),
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
];

/** Raw node:crypto, written out separately from aead.ts. */
function nodeSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return { ct, tag: c.getAuthTag() };
}

function nodeOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ct: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
) {
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(ct), d.final()]);
}

function integrityFailure(fn: () => unknown): void {
  let returned: unknown;
  try {
    returned = fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('INTEGRITY_FAILURE');
    return;
  }
  throw new Error(`expected INTEGRITY_FAILURE, got ${typeof returned}`);
}

describe('AES-256-GCM known answers (McGrew-Viega GCM spec, AES-256 cases)', () => {
  it.each(KNOWN_ANSWERS)('$name', (kat) => {
    const sealed = sealAesGcm(hex(kat.key), hex(kat.plaintext), hex(kat.aad), hex(kat.iv));
    expect(sealed.toString('hex')).toBe(kat.iv + kat.ciphertext + kat.tag);
    expect(openAesGcm(hex(kat.key), sealed, hex(kat.aad)).toString('hex')).toBe(kat.plaintext);
  });

  it('rejects test case 16 with a changed tag, AAD or ciphertext', () => {
    const kat = KNOWN_ANSWERS[3]!;
    const sealed = hex(kat.iv + kat.ciphertext + kat.tag);
    const badTag = Buffer.from(sealed);
    badTag[badTag.length - 1]! ^= 1;
    integrityFailure(() => openAesGcm(hex(kat.key), badTag, hex(kat.aad)));
    integrityFailure(() => openAesGcm(hex(kat.key), sealed, hex(kat.aad).subarray(1)));
    const badCt = Buffer.from(sealed);
    badCt[NONCE_BYTES]! ^= 0x80;
    integrityFailure(() => openAesGcm(hex(kat.key), badCt, hex(kat.aad)));
  });
});

const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nonceArb = fc.uint8Array({ minLength: 12, maxLength: 12 });
const bytesArb = (maxLength: number) => fc.uint8Array({ maxLength });

describe('cross-check with raw node:crypto', () => {
  it('sealAesGcm output is nonce || ciphertext || tag as node computes it, and node opens it', () => {
    fc.assert(
      fc.property(keyArb, nonceArb, bytesArb(300), bytesArb(64), (key, nonce, plaintext, aad) => {
        const sealed = sealAesGcm(key, plaintext, aad, nonce);
        const ref = nodeSeal(key, nonce, plaintext, aad);
        expect(sealed.length).toBe(plaintext.length + AEAD_OVERHEAD);
        expect(sealed.equals(Buffer.concat([nonce, ref.ct, ref.tag]))).toBe(true);
        const ct = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
        const tag = sealed.subarray(sealed.length - TAG_BYTES);
        expect(nodeOpen(key, nonce, ct, tag, aad).equals(Buffer.from(plaintext))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('openAesGcm opens what node seals', () => {
    fc.assert(
      fc.property(keyArb, nonceArb, bytesArb(300), bytesArb(64), (key, nonce, plaintext, aad) => {
        const ref = nodeSeal(key, nonce, plaintext, aad);
        const opened = openAesGcm(key, Buffer.concat([nonce, ref.ct, ref.tag]), aad);
        expect(opened.equals(Buffer.from(plaintext))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('a random nonce is drawn when none is given', () => {
    const key = new Uint8Array(32);
    const a = sealAesGcm(key, Buffer.from('x'), Buffer.alloc(0));
    const b = sealAesGcm(key, Buffer.from('x'), Buffer.alloc(0));
    expect(a.subarray(0, NONCE_BYTES).equals(b.subarray(0, NONCE_BYTES))).toBe(false);
    expect(openAesGcm(key, a, Buffer.alloc(0)).toString()).toBe('x');
  });
});

describe('tampering', () => {
  it('any single bit flip, or another AAD, fails with INTEGRITY_FAILURE', () => {
    fc.assert(
      fc.property(
        keyArb,
        bytesArb(100),
        bytesArb(32),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (key, plaintext, aad, pos, bit) => {
          const sealed = sealAesGcm(key, plaintext, aad);
          const flipped = Buffer.from(sealed);
          flipped[pos % flipped.length]! ^= 1 << bit;
          integrityFailure(() => openAesGcm(key, flipped, aad));
          integrityFailure(() => openAesGcm(key, sealed, Buffer.concat([aad, Buffer.from([0])])));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('input shorter than nonce + tag fails with INTEGRITY_FAILURE', () => {
    const key = new Uint8Array(32);
    for (const n of [0, 1, 12, 27])
      integrityFailure(() => openAesGcm(key, new Uint8Array(n), new Uint8Array(0)));
  });
});

describe('argument checks', () => {
  const empty = new Uint8Array(0);
  it('RangeError for a key that is not 32 bytes', () => {
    for (const n of [0, 16, 24, 31, 33, 64]) {
      expect(() => sealAesGcm(new Uint8Array(n), empty, empty)).toThrow(RangeError);
      expect(() => openAesGcm(new Uint8Array(n), new Uint8Array(40), empty)).toThrow(RangeError);
    }
    expect(KEY_BYTES).toBe(32);
  });

  it('TypeError for a key that is not a Uint8Array', () => {
    const notBytes = [
      'k'.repeat(32),
      Array.from({ length: 32 }, () => 0),
      undefined,
      new ArrayBuffer(32),
    ] as unknown as Uint8Array[];
    for (const key of notBytes) {
      expect(() => sealAesGcm(key, empty, empty)).toThrow(TypeError);
      expect(() => openAesGcm(key, new Uint8Array(40), empty)).toThrow(TypeError);
    }
  });

  it('RangeError for a nonce that is not 12 bytes', () => {
    const key = new Uint8Array(32);
    for (const n of [0, 8, 11, 13, 16]) {
      expect(() => sealAesGcm(key, empty, empty, new Uint8Array(n))).toThrow(RangeError);
    }
    expect(NONCE_BYTES).toBe(12);
    expect(TAG_BYTES).toBe(16);
    expect(AEAD_OVERHEAD).toBe(28);
  });
});
