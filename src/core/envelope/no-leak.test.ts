/**
 * No key material and no plaintext in any error or warning of coffer/envelope: every failing
 * operation is fed generated sentinel values, and every message, hint, stack and cause it
 * produces (and every warning) is searched for them in the forms a leak would take.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../../../test/helpers/rewrap-adapter.js';
import { keyringFromEnv } from './env-keyring.js';
import { decryptJsonBlob, encryptJsonBlob } from './json-blob.js';
import { createKeyring } from './keyring.js';
import { rewrapRows } from './rewrap.js';

/** Everything an error exposes: message, hint, stack, and the same for its causes. */
function exposed(err: unknown, depth = 0): string {
  if (err === undefined || err === null || depth > 5) return '';
  if (typeof err !== 'object') return String(err);
  const e = err as { message?: unknown; hint?: unknown; stack?: unknown; cause?: unknown };
  return [String(e.message), String(e.hint), String(e.stack), exposed(e.cause, depth + 1)].join(
    '\n',
  );
}

function caught(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return exposed(err);
  }
  throw new Error('expected the operation to fail');
}

/** The spellings a leak of `bytes` or `text` would have. */
function forms(bytes: Uint8Array, text?: string): string[] {
  const b = Buffer.from(bytes);
  const out = [b.toString('base64'), b.toString('base64url'), b.toString('hex')].map((s) =>
    s.slice(0, 16),
  );
  if (text !== undefined) out.push(text);
  return out;
}

const sentinel = fc
  .string({ minLength: 20, maxLength: 40, unit: 'grapheme-ascii' })
  .map((s) => `SENTINEL#${s.replace(/[^A-Za-z0-9]/g, 'x')}`);

describe('no secret in errors or warnings', () => {
  it('encrypt/decrypt failures show neither the value nor the keys', () => {
    fc.assert(
      fc.property(sentinel, fc.uint8Array({ minLength: 32, maxLength: 32 }), (secret, key) => {
        const warnings: string[] = [];
        const ring = createKeyring([{ id: 'k1', key }], { warn: (m) => warnings.push(m) });
        const other = createKeyring([{ id: 'k1', key: new Uint8Array(randomBytes(32)) }]);
        const stored = encryptJsonBlob({ access_token: secret }, ring, { context: 'row/1' });
        const texts = [
          caught(() => decryptJsonBlob(stored, ring, { context: 'row/2' })),
          caught(() => decryptJsonBlob(stored, other, { context: 'row/1' })),
          caught(() => decryptJsonBlob(stored, createKeyring([]), { context: 'row/1' })),
          caught(() =>
            decryptJsonBlob(stored.replace('"coffer":1', '"coffer":7'), ring, { context: 'row/1' }),
          ),
          caught(() => decryptJsonBlob(`{"access_token":"${secret}"}`, ring, { context: 'row/1' })),
          caught(() => decryptJsonBlob(`{"coffer":1,"kid":"${secret}"}`, ring, { context: 'r' })),
          caught(() => decryptJsonBlob(`{"kid":"k1","ct":"${secret}"}`, ring, { context: 'r' })),
          caught(() => encryptJsonBlob({ secret, f: () => 1, n: 1n }, ring, { context: 'r' })),
          caught(() => encryptJsonBlob(secret, createKeyring([]), { context: 'r' })),
          caught(() => encryptJsonBlob(secret.repeat(40_000), ring, { context: 'r' })),
        ];
        encryptJsonBlob({ secret }, createKeyring([], { warn: (m) => warnings.push(m) }), {
          context: 'r',
          allowPlaintext: true,
        });
        const all = [...texts, ...warnings].join('\n');
        for (const f of forms(key, secret)) expect(all).not.toContain(f);
      }),
      { numRuns: 40 },
    );
  });

  it('bad key variables are named, never shown', () => {
    fc.assert(
      fc.property(sentinel, fc.uint8Array({ minLength: 12, maxLength: 64 }), (secret, bytes) => {
        fc.pre(bytes.length !== 32);
        const b64 = Buffer.from(bytes).toString('base64');
        const texts = [
          caught(() => keyringFromEnv({ COFFER_DATA_KEYS: `${secret}` })),
          caught(() => keyringFromEnv({ COFFER_DATA_KEYS: `${secret}:${b64}` })),
          caught(() => keyringFromEnv({ COFFER_DATA_KEYS: `k1:${secret}` })),
          caught(() => keyringFromEnv({ COFFER_DATA_KEYS: `k1:${b64}` })),
          caught(() => keyringFromEnv({ WORKFLOWS_ARTIFACT_ENC_KEY: secret })),
          caught(() => keyringFromEnv({ WORKFLOWS_ARTIFACT_ENC_KEY: b64 })),
          caught(() => keyringFromEnv({ CONNECTOR_SECRET_KEY: secret.slice(0, 15) })),
        ];
        const all = texts.join('\n');
        for (const f of forms(bytes, secret)) expect(all).not.toContain(f);
        expect(all).not.toContain(secret.slice(0, 15));
      }),
      { numRuns: 40 },
    );
  });

  it('rewrap failures name row ids only', async () => {
    await fc.assert(
      fc.asyncProperty(sentinel, async (secret) => {
        const oldKey = new Uint8Array(randomBytes(32));
        const old = createKeyring([{ id: 'k1', key: oldKey }]);
        const context = (id: unknown) => `t/c/${String(id)}`;
        const rows = [
          { id: 1, value: encryptJsonBlob({ secret }, old, { context: context(2) }) },
          { id: 2, value: `{"plain":"${secret}"}` },
          { id: 3, value: encryptJsonBlob({ secret }, old, { context: context(3) }) },
        ];
        const ring = createKeyring([{ id: 'k2', key: new Uint8Array(randomBytes(32)) }]);
        const r = await rewrapRows(memoryAdapter(rows), ring, { context });
        expect(r.failures.map((f) => f.id)).toEqual(['1', '2', '3']);
        const all = JSON.stringify(r);
        for (const f of forms(oldKey, secret)) expect(all).not.toContain(f);
      }),
      { numRuns: 20 },
    );
  });
});
