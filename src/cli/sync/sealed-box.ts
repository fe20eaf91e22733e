/**
 * libsodium's sealed box (`crypto_box_seal`), as GitHub requires for the values of Actions
 * secrets set through its REST API: an anonymous sender encrypts to the repository's X25519
 * public key.
 *
 *   (epk, esk)  a fresh X25519 key pair
 *   nonce       BLAKE2b-192(epk || pk)                      (24 bytes, unkeyed)
 *   k           HSalsa20(X25519(esk, pk), 0^16)             (crypto_box_beforenm)
 *   box         epk || XSalsa20-Poly1305(k, nonce, m)       (tag first, as NaCl lays it out)
 *
 * The primitives come from the audited noble libraries (@noble/curves, @noble/hashes,
 * @noble/ciphers; SECURITY.md), not written here: node:crypto has no XSalsa20. They are ES
 * modules loaded on first use (only `coffer sync --target github` without `gh` needs them).
 * Checked against libsodium itself in test/e2e/sync.test.ts (its stand-in of GitHub opens
 * every box with crypto_box_seal_open) and sealed-box.test.ts.
 */
import { createRequire } from 'node:module';
import { CofferError } from '../../core/errors.js';

interface Noble {
  x25519: {
    utils: { randomSecretKey(): Uint8Array };
    getPublicKey(sk: Uint8Array): Uint8Array;
    getSharedSecret(sk: Uint8Array, pk: Uint8Array): Uint8Array;
  };
  blake2b(m: Uint8Array, opts: { dkLen: number }): Uint8Array;
  hsalsa(s: Uint32Array, k: Uint32Array, i: Uint32Array, out: Uint32Array): void;
  xsalsa20poly1305(
    key: Uint8Array,
    nonce: Uint8Array,
  ): { encrypt(m: Uint8Array): Uint8Array; decrypt(c: Uint8Array): Uint8Array };
}

let noble: Noble | undefined;

function load(spec: string): Record<string, unknown> {
  try {
    return createRequire(import.meta.url)(spec) as Record<string, unknown>;
  } catch (err) {
    throw new CofferError('DEPENDENCY_MISSING', `${spec} did not load`, {
      cause: err,
      hint: 'Use Node 20.19 or later, and reinstall coffer if the package is missing (it is one of its dependencies).',
    });
  }
}

function loadNoble(): Noble {
  if (noble === undefined) {
    const curves = load('@noble/curves/ed25519.js');
    const hashes = load('@noble/hashes/blake2.js');
    const ciphers = load('@noble/ciphers/salsa.js');
    noble = {
      x25519: curves.x25519 as Noble['x25519'],
      blake2b: hashes.blake2b as Noble['blake2b'],
      hsalsa: ciphers.hsalsa as Noble['hsalsa'],
      xsalsa20poly1305: ciphers.xsalsa20poly1305 as Noble['xsalsa20poly1305'],
    };
  }
  return noble;
}

/** "expand 32-byte k", the Salsa20 constant, as four little-endian words. */
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

const words = (b: Uint8Array): Uint32Array => {
  const out = new Uint32Array(b.length / 4);
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
};

/** crypto_box_beforenm: HSalsa20 of the X25519 shared secret with a zero input. */
function boxKey(n: Noble, sk: Uint8Array, pk: Uint8Array): Uint8Array {
  const shared = n.x25519.getSharedSecret(sk, pk);
  const out = new Uint32Array(8);
  n.hsalsa(SIGMA, words(shared), new Uint32Array(4), out);
  shared.fill(0);
  const key = new Uint8Array(32);
  const view = new DataView(key.buffer);
  for (let i = 0; i < 8; i++) view.setUint32(i * 4, out[i]!, true);
  out.fill(0);
  return key;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** crypto_box_seal(message, publicKey): 48 bytes longer than the message. */
export function sealBox(message: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) {
    throw new CofferError('INVALID_ARGUMENT', 'the public key to seal to is not 32 bytes');
  }
  const n = loadNoble();
  const esk = n.x25519.utils.randomSecretKey();
  const epk = n.x25519.getPublicKey(esk);
  const nonce = n.blake2b(concat(epk, publicKey), { dkLen: 24 });
  const key = boxKey(n, esk, publicKey);
  esk.fill(0);
  try {
    return concat(epk, n.xsalsa20poly1305(key, nonce).encrypt(message));
  } finally {
    key.fill(0);
  }
}

/** crypto_box_seal_open: the message, or undefined when the box does not open. */
export function openSealedBox(
  box: Uint8Array,
  publicKey: Uint8Array,
  secretKey: Uint8Array,
): Uint8Array | undefined {
  if (box.length < 48) return undefined;
  const n = loadNoble();
  const epk = box.subarray(0, 32);
  const nonce = n.blake2b(concat(epk, publicKey), { dkLen: 24 });
  const key = boxKey(n, secretKey, epk);
  try {
    return n.xsalsa20poly1305(key, nonce).decrypt(box.subarray(32));
  } catch {
    return undefined;
  } finally {
    key.fill(0);
  }
}

/** A fresh X25519 key pair (for tests and stand-ins). */
export function boxKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const n = loadNoble();
  const secretKey = n.x25519.utils.randomSecretKey();
  return { publicKey: n.x25519.getPublicKey(secretKey), secretKey };
}
