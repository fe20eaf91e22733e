/**
 * Keyrings: createKeyring, keyringFromEnv (every variable, every error message the issue and
 * the seeds name), the CONNECTOR_SECRET_KEY derivations, and keyringFromVault on a real vault.
 */
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { errorOf } from '../../../test/helpers/errors.js';
import { makeTestVault } from '../../../test/helpers/vault.js';
import type { CofferError } from '../errors.js';
import { keyringFromEnv, keyringFromVault } from './env-keyring.js';
import { decryptJsonBlob, encryptJsonBlob, envelopeKeyId } from './json-blob.js';
import { createKeyring } from './keyring.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const k1 = new Uint8Array(randomBytes(32));
const k2 = new Uint8Array(randomBytes(32));
const CONNECTOR = 'Zm9vYmFyYmF6cXV4LXF1dXgtY29ubmVjdG9y';
const ctx = 'external_accounts/access_token/7';

describe('keyringFromEnv', () => {
  it('reads COFFER_DATA_KEYS newest first: the first is primary', () => {
    const ring = keyringFromEnv({ COFFER_DATA_KEYS: `k2:${b64(k2)}, k1:${b64(k1)}` });
    expect(ring.primaryId).toBe('k2');
    expect(ring.ids).toEqual(['k2', 'k1']);
    const old = encryptJsonBlob('v', createKeyring([{ id: 'k1', key: k1 }]), { context: ctx });
    expect(decryptJsonBlob(old, ring, { context: ctx })).toBe('v');
  });

  it('accepts url-safe base64 in COFFER_DATA_KEYS', () => {
    const url = Buffer.from(k1).toString('base64url');
    expect(keyringFromEnv({ COFFER_DATA_KEYS: `a.b_c-1:${url}` }).ids).toEqual(['a.b_c-1']);
  });

  it('says what is wrong with COFFER_DATA_KEYS without showing a key', () => {
    const cases: Array<[string, string]> = [
      [b64(k1), 'COFFER_DATA_KEYS must be <id>:<base64 of 32 bytes>'],
      [`k2:${b64(k2)},${b64(k1)}`, 'COFFER_DATA_KEYS entry 2 must be <id>:<base64 of 32 bytes>'],
      [`k1:${b64(k1).slice(0, 20)}`, 'COFFER_DATA_KEYS must be base64 of 32 bytes'],
      [`k 1:${b64(k1)}`, 'COFFER_DATA_KEYS has an invalid key id'],
      [`k1:${b64(k1)},k1:${b64(k2)}`, 'the key id k1 appears twice in the keyring'],
    ];
    for (const [value, message] of cases) {
      const err = errorOf(() => keyringFromEnv({ COFFER_DATA_KEYS: value }));
      expect(err.code).toBe('DATA_KEY_INVALID');
      expect(err.message).toContain(message);
      expect(`${err.message} ${err.hint}`).not.toContain(b64(k1).slice(0, 12));
    }
  });

  it('reads WORKFLOWS_ARTIFACT_ENC_KEY: exactly 32 bytes of base64', () => {
    const ring = keyringFromEnv({ WORKFLOWS_ARTIFACT_ENC_KEY: b64(k1) });
    expect(ring.primaryId).toMatch(/^workflows-[0-9a-f]{8}$/);
    for (const bad of [b64(randomBytes(16)), b64(randomBytes(33)), 'not base64!', 'k1:abc']) {
      const err = errorOf(() => keyringFromEnv({ WORKFLOWS_ARTIFACT_ENC_KEY: bad }));
      expect(err.message).toBe('WORKFLOWS_ARTIFACT_ENC_KEY must be base64 of 32 bytes');
    }
  });

  it('the id of a single-variable key changes with the key, so a replaced key is named', () => {
    const a = keyringFromEnv({ WORKFLOWS_ARTIFACT_ENC_KEY: b64(k1) });
    const b = keyringFromEnv({ WORKFLOWS_ARTIFACT_ENC_KEY: b64(k2) });
    expect(a.primaryId).not.toBe(b.primaryId);
    const stored = encryptJsonBlob({ t: 1 }, a, { context: ctx });
    expect(errorOf(() => decryptJsonBlob(stored, b, { context: ctx })).message).toBe(
      `no key in the keyring has id ${a.primaryId} (was the key rotated away?)`,
    );
  });

  it('an empty keyring says that no key is configured, not that one was rotated away', () => {
    const a = keyringFromEnv({ WORKFLOWS_ARTIFACT_ENC_KEY: b64(k1) });
    const stored = encryptJsonBlob({ t: 1 }, a, { context: ctx });
    const err = errorOf(() => decryptJsonBlob(stored, keyringFromEnv({}), { context: ctx }));
    expect(err.code).toBe('DATA_KEY_MISSING');
    expect(err.message).toBe(
      `no data key is configured, and this envelope needs the key ${a.primaryId}`,
    );
    expect(err.hint).toContain(`COFFER_DATA_KEYS="${a.primaryId}:`);
  });

  it('CONNECTOR_SECRET_KEY: HKDF-SHA256 by default, at least 16 characters', () => {
    const ring = keyringFromEnv({ CONNECTOR_SECRET_KEY: CONNECTOR });
    expect(ring.primaryId).toMatch(/^connector-[0-9a-f]{8}$/);
    const hkdf = new Uint8Array(
      hkdfSync('sha256', CONNECTOR, new Uint8Array(0), 'coffer/envelope/connector-key/v1', 32),
    );
    const direct = createKeyring([{ id: ring.primaryId!, key: hkdf }]);
    const stored = encryptJsonBlob('tok', ring, { context: ctx });
    expect(decryptJsonBlob(stored, direct, { context: ctx })).toBe('tok');
    const err = errorOf(() => keyringFromEnv({ CONNECTOR_SECRET_KEY: 'fifteen-chars!!' }));
    expect(err.message).toBe('Key must be at least 16 characters');
    expect(err.code).toBe('DATA_KEY_INVALID');
    expect(keyringFromEnv({ CONNECTOR_SECRET_KEY: 'sixteen-chars!!!' }).ids).toHaveLength(1);
  });

  it('the sha256 derivation gives a decrypt-only key that reads what SHA-256 apps wrote', () => {
    const legacy = keyringFromEnv(
      { CONNECTOR_SECRET_KEY: CONNECTOR },
      { connectorKeyDerivation: 'sha256' },
    );
    expect(legacy.primaryId).toBeUndefined();
    expect(legacy.ids[0]).toMatch(/^connector-sha256-[0-9a-f]{8}$/);
    const sha = new Uint8Array(createHash('sha256').update(CONNECTOR).digest());
    const writer = createKeyring([{ id: legacy.ids[0]!, key: sha }]);
    const stored = encryptJsonBlob({ a: 1 }, writer, { context: ctx });
    expect(decryptJsonBlob(stored, legacy, { context: ctx })).toEqual({ a: 1 });
    expect(errorOf(() => encryptJsonBlob(1, legacy, { context: ctx })).code).toBe(
      'DATA_KEY_MISSING',
    );
    // Migration: a new key in COFFER_DATA_KEYS is primary, the legacy key still reads.
    const both = keyringFromEnv(
      { COFFER_DATA_KEYS: `k1:${b64(k1)}`, CONNECTOR_SECRET_KEY: CONNECTOR },
      { connectorKeyDerivation: 'sha256' },
    );
    expect(both.primaryId).toBe('k1');
    expect(decryptJsonBlob(stored, both, { context: ctx })).toEqual({ a: 1 });
    expect(envelopeKeyId(encryptJsonBlob(1, both, { context: ctx }))).toBe('k1');
  });

  it('required: names the missing variable exactly', () => {
    const only = { variables: ['CONNECTOR_SECRET_KEY'] as const, required: true };
    const err = errorOf(() => keyringFromEnv({ CONNECTOR_SECRET_KEY: '' }, only));
    expect(err.message).toBe('CONNECTOR_SECRET_KEY must be defined');
    expect(err.code).toBe('DATA_KEY_MISSING');
    expect(errorOf(() => keyringFromEnv({}, { required: true })).message).toBe(
      'one of COFFER_DATA_KEYS, WORKFLOWS_ARTIFACT_ENC_KEY, CONNECTOR_SECRET_KEY must be defined',
    );
    // Variables not asked for are ignored.
    expect(() => keyringFromEnv({ COFFER_DATA_KEYS: `k1:${b64(k1)}` }, only)).toThrow(
      'CONNECTOR_SECRET_KEY must be defined',
    );
    expect(keyringFromEnv({}).ids).toEqual([]);
  });

  it('puts COFFER_DATA_KEYS first, then the single variables as older keys', () => {
    const ring = keyringFromEnv({
      COFFER_DATA_KEYS: `k2:${b64(k2)}`,
      WORKFLOWS_ARTIFACT_ENC_KEY: b64(k1),
      CONNECTOR_SECRET_KEY: CONNECTOR,
    });
    expect(ring.ids.map((id) => id.replace(/-[0-9a-f]{8}$/, ''))).toEqual([
      'k2',
      'workflows',
      'connector',
    ]);
  });
});

describe('DataKeyring', () => {
  it('shows ids only: inspect, JSON and keys given as any 32 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const ring = createKeyring([{ id: 'k9', key: bytes }]);
        const shown = `${inspect(ring, { showHidden: true, depth: 5 })} ${JSON.stringify(ring)}`;
        expect(shown).toContain('k9');
        expect(shown).not.toContain(Buffer.from(bytes).toString('base64'));
        expect(shown).not.toContain(Buffer.from(bytes).toString('hex').slice(0, 16));
      }),
      { numRuns: 30 },
    );
  });

  it('copies keys in and wipes them on destroy', () => {
    const bytes = new Uint8Array(randomBytes(32));
    const ring = createKeyring([{ id: 'k1', key: bytes }]);
    const stored = encryptJsonBlob(1, ring, { context: ctx });
    bytes.fill(0); // the caller's copy does not matter
    expect(decryptJsonBlob(stored, ring, { context: ctx })).toBe(1);
    ring.destroy();
    ring.destroy(); // a cleanup that runs twice
    // Every use after it is an error: never "no key" (plaintext with allowPlaintext).
    expect(() => decryptJsonBlob(stored, ring, { context: ctx })).toThrow(/destroyed/);
    expect(() =>
      encryptJsonBlob({ t: 'tok' }, ring, { context: ctx, allowPlaintext: true }),
    ).toThrow(/destroyed/);
  });

  it('refuses wrong key sizes and ids', () => {
    expect(errorOf(() => createKeyring([{ id: 'k1', key: new Uint8Array(16) }])).message).toBe(
      'key 1 must be 32 bytes',
    );
    expect(errorOf(() => createKeyring([{ id: '-k', key: k1 }])).code).toBe('DATA_KEY_INVALID');
    expect(errorOf(() => createKeyring([{ id: 'x'.repeat(65), key: k1 }])).code).toBe(
      'DATA_KEY_INVALID',
    );
  });
});

describe('keyringFromVault', () => {
  const made: Array<Awaited<ReturnType<typeof makeTestVault>>> = [];
  afterAll(async () => {
    for (const t of made) {
      t.vault.close();
      await t.storage.close();
    }
  });

  it('loads a key list stored as a secret, through the Vault API', async () => {
    const t = await makeTestVault('test:envelope');
    made.push(t);
    await t.vault.set('project/connectors/data_keys', 'prod', `k2:${b64(k2)},k1:${b64(k1)}`, {
      description: 'Data keys that encrypt the OAuth tokens of connectors',
    });
    const ring = await keyringFromVault(t.vault, 'project/connectors/data_keys', { env: 'prod' });
    expect(ring.ids).toEqual(['k2', 'k1']);
    const err = await keyringFromVault(t.vault, 'project/connectors/missing', {
      env: 'prod',
    }).catch((e: unknown) => e);
    expect((err as CofferError).code).toBe('SECRET_NOT_FOUND');
    await t.vault.set('project/connectors/bad_keys', 'prod', b64(k1), {
      description: 'A key list written without ids, which is refused',
    });
    const bad = await keyringFromVault(t.vault, 'project/connectors/bad_keys', {
      env: 'prod',
    }).catch((e: unknown) => e);
    expect((bad as CofferError).message).toBe(
      'the secret project/connectors/bad_keys (prod) must be <id>:<base64 of 32 bytes>',
    );
  });
});
