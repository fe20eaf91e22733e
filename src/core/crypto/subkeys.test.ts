import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveSubkey } from './subkeys.js';

/** RFC 5869 HKDF-SHA256 written out with HMAC, as an independent reference. */
function hkdfReference(ikm: Uint8Array, info: string): Buffer {
  const prk = createHmac('sha256', Buffer.alloc(32)).update(ikm).digest();
  return createHmac('sha256', prk)
    .update(Buffer.concat([Buffer.from(info, 'utf8'), Buffer.from([1])]))
    .digest();
}

describe('deriveSubkey', () => {
  it('is HKDF-SHA256 with an empty salt and the labelled info (reference implementation)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (master) => {
        for (const label of ['row-mac', 'audit-head'] as const) {
          expect(Buffer.from(deriveSubkey(master, label))).toEqual(
            hkdfReference(master, `coffer/subkey/v1 ${label}`),
          );
        }
      }),
      { numRuns: 50 },
    );
  });

  it('gives different keys for different labels and refuses a master key of the wrong size', () => {
    const master = new Uint8Array(32).fill(7);
    expect(deriveSubkey(master, 'row-mac')).not.toEqual(deriveSubkey(master, 'audit-head'));
    expect(() => deriveSubkey(new Uint8Array(31), 'row-mac')).toThrow(RangeError);
  });
});
