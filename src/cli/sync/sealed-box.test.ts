/**
 * The sealed box against libsodium itself (python3's ctypes over libsodium.so.23, where
 * both are installed; the test says when it skipped): libsodium opens what coffer seals,
 * coffer opens what libsodium seals, and a changed byte or another key opens nothing.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boxKeyPair, openSealedBox, sealBox } from './sealed-box.js';

const PY = `
import ctypes, sys, json
s = ctypes.CDLL('libsodium.so.23'); assert s.sodium_init() >= 0
req = json.load(sys.stdin); pk = bytes.fromhex(req['pk']); sk = bytes.fromhex(req['sk'])
out = {'opened': [], 'sealed': []}
for c in req['open']:
    c = bytes.fromhex(c); m = ctypes.create_string_buffer(max(1, len(c) - 48))
    ok = s.crypto_box_seal_open(m, c, ctypes.c_ulonglong(len(c)), pk, sk) == 0
    out['opened'].append(m.raw[:len(c) - 48].hex() if ok else None)
for m in req['seal']:
    m = bytes.fromhex(m); c = ctypes.create_string_buffer(len(m) + 48)
    s.crypto_box_seal(c, m, ctypes.c_ulonglong(len(m)), pk)
    out['sealed'].append(c.raw.hex())
print(json.dumps(out))
`;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const libsodium =
  spawnSync('python3', ['-c', "import ctypes; ctypes.CDLL('libsodium.so.23')"]).status === 0;

describe('sealed box (crypto_box_seal)', () => {
  it('round-trips, and refuses a changed byte or another key', () => {
    const a = boxKeyPair();
    const b = boxKeyPair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (m, at) => {
        const box = sealBox(m, a.publicKey);
        expect(box.length).toBe(m.length + 48);
        expect(openSealedBox(box, a.publicKey, a.secretKey)).toEqual(m);
        expect(openSealedBox(box, b.publicKey, b.secretKey)).toBeUndefined();
        const bad = new Uint8Array(box);
        bad[at % bad.length]! ^= 1;
        expect(openSealedBox(bad, a.publicKey, a.secretKey)).toBeUndefined();
      }),
      { numRuns: 50 },
    );
  });

  it('interoperates with libsodium both ways', () => {
    if (!libsodium) {
      console.warn('SKIPPED sealed box against libsodium: python3 or libsodium.so.23 is missing');
      return;
    }
    const k = boxKeyPair();
    const messages = ['', 'x', 'ghp_secret value', 'é'.repeat(200)].map((s) => Buffer.from(s));
    const r = spawnSync('python3', ['-c', PY], {
      input: JSON.stringify({
        pk: hex(k.publicKey),
        sk: hex(k.secretKey),
        open: messages.map((m) => hex(sealBox(m, k.publicKey))),
        seal: messages.map(hex),
      }),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { opened: (string | null)[]; sealed: string[] };
    expect(out.opened).toEqual(messages.map(hex));
    out.sealed.forEach((c, i) => {
      const opened = openSealedBox(Buffer.from(c, 'hex'), k.publicKey, k.secretKey);
      expect(opened && hex(opened)).toBe(hex(messages[i]!));
    });
  });
});
