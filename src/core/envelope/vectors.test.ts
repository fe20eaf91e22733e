/**
 * The frozen conformance vectors test/vectors/envelope-json-v1.json (made by the independent
 * scripts/make-envelope-json-vectors.mjs from docs/format.md): exact bytes when sealing with
 * the fixed nonces, values when opening, the exact error of every negative case, and the keys
 * and ids of the single environment variables.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { connectorKey, keyringFromEnv } from './env-keyring.js';
import { sealEnvelopeText } from './format.js';
import { decryptJsonBlob } from './json-blob.js';
import { createKeyring } from './keyring.js';

interface Positive {
  name: string;
  kid: string;
  key: string;
  context: string;
  nonce: string;
  plaintext: string;
  value: unknown;
  envelope: string;
}
interface Negative {
  name: string;
  expectedError: string;
  keyring: Array<{ id: string; key: string }>;
  context: string;
  stored: string;
}
interface Derivation {
  variable: string;
  derivation: 'hkdf-sha256' | 'sha256' | 'base64';
  input: string;
  key: string;
  id: string;
  decryptOnly: boolean;
}

const doc = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../../test/vectors/envelope-json-v1.json'), 'utf8'),
) as {
  header: { version: number };
  positive: Positive[];
  negative: Negative[];
  keyDerivation: Derivation[];
};
const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const ringOf = (keys: Array<{ id: string; key: string }>) =>
  createKeyring(keys.map((k) => ({ id: k.id, key: hex(k.key) })));

describe('envelope-json-v1 vectors', () => {
  it('has the cases the spec promises', () => {
    expect(doc.header.version).toBe(1);
    expect(doc.positive.length).toBeGreaterThanOrEqual(8);
    const names = doc.negative.map((n) => n.name);
    for (const n of [
      'wrong-key',
      'wrong-context',
      'flipped-ciphertext',
      'unknown-version',
      'unknown-key-id',
    ]) {
      expect(names).toContain(n);
    }
  });

  it.each(doc.positive.map((p) => [p.name, p] as const))('%s: same bytes and value', (_, p) => {
    const sealed = sealEnvelopeText(
      hex(p.key),
      p.kid,
      Buffer.from(p.plaintext, 'utf8'),
      p.context,
      hex(p.nonce),
    );
    expect(sealed).toBe(p.envelope);
    const ring = ringOf([{ id: p.kid, key: p.key }]);
    expect(decryptJsonBlob(p.envelope, ring, { context: p.context })).toEqual(p.value);
    const reordered = JSON.stringify(
      Object.fromEntries(Object.entries(JSON.parse(p.envelope)).reverse()),
      null,
      2,
    );
    expect(decryptJsonBlob(reordered, ring, { context: p.context })).toEqual(p.value);
  });

  it.each(doc.negative.map((n) => [n.name, n] as const))('%s: fails as specified', (_, n) => {
    let err: unknown;
    try {
      decryptJsonBlob(n.stored, ringOf(n.keyring), { context: n.context });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe(n.expectedError);
  });

  it.each(doc.keyDerivation.map((d) => [`${d.variable} ${d.derivation}`, d] as const))(
    '%s: key and id',
    (_, d) => {
      if (d.derivation === 'base64') {
        expect(keyringFromEnv({ [d.variable]: d.input }).ids).toEqual([d.id]);
        return;
      }
      const k = connectorKey(d.input, d.derivation);
      expect(Buffer.from(k.key as Uint8Array).toString('hex')).toBe(d.key);
      expect(k.id).toBe(d.id);
      expect(k.decryptOnly === true).toBe(d.decryptOnly);
      const ring = keyringFromEnv(
        { CONNECTOR_SECRET_KEY: d.input },
        { connectorKeyDerivation: d.derivation },
      );
      expect(ring.ids).toEqual([d.id]);
    },
  );
});
