/**
 * Which store the CLI opens: the vault file, or the PostgreSQL database of
 * COFFER_DATABASE_URL (refusing --vault there, with clear errors for a bad URL), and where
 * the default key file is. The PostgreSQL round trip runs only when COFFER_TEST_DATABASE_URL
 * is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dropPostgresSchema, throwAwaySchema } from '../../test/helpers/storage-factories.js';
import { CofferError } from '../core/errors.js';
import { initVault } from '../core/store/init.js';
import { databaseUrl, keyFilePath, openStore, openVault } from './context.js';

const testUrl = process.env.COFFER_TEST_DATABASE_URL;
if (!testUrl) {
  console.warn('SKIPPED the PostgreSQL part of context tests: set COFFER_TEST_DATABASE_URL');
}

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'coffer-context-'));
  vi.stubEnv('COFFER_HOME', home);
  vi.stubEnv('COFFER_DATABASE_URL', '');
  vi.stubEnv('COFFER_KEY_FILE', undefined);
  vi.stubEnv('COFFER_MASTER_KEY', undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(home, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CofferError);
  return (err as CofferError).code;
}

describe('the store of the CLI', () => {
  it('is the vault file without COFFER_DATABASE_URL', async () => {
    expect(databaseUrl()).toBeUndefined();
    expect(await codeOf(openStore({}))).toBe('VAULT_NOT_FOUND');
    const store = await openStore({}, { create: true });
    try {
      expect(store.kind).toBe('sqlite');
      expect(store.location).toBe(join(home, 'vault.db'));
    } finally {
      await store.close();
    }
    expect(keyFilePath({ vault: join(home, 'sub', 'v.db') })).toBe(join(home, 'sub', 'master.key'));
  });

  it('with COFFER_DATABASE_URL: --vault is refused, and a bad URL is a usage error', async () => {
    vi.stubEnv('COFFER_DATABASE_URL', 'postgres://coffer@127.0.0.1:1/coffer');
    expect(databaseUrl()).toBe('postgres://coffer@127.0.0.1:1/coffer');
    const err = await openStore({ vault: join(home, 'v.db') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('USAGE');
    expect((err as CofferError).message).toContain('--vault');
    // The default key file is in COFFER_HOME: there is no vault file to sit beside.
    expect(keyFilePath({})).toBe(join(home, 'master.key'));

    vi.stubEnv('COFFER_DATABASE_URL', 'mysql://coffer@db/coffer');
    expect(await codeOf(openStore({}))).toBe('INVALID_ARGUMENT');
    vi.stubEnv('COFFER_DATABASE_URL', 'postgres://coffer@db/coffer?schema=Not-A-Name');
    expect(await codeOf(openStore({}))).toBe('INVALID_ARGUMENT');
  });

  it.skipIf(!testUrl)('opens the PostgreSQL schema and the vault in it', async () => {
    const schema = throwAwaySchema('coffer_ctx');
    const url = new URL(testUrl!);
    url.searchParams.set('schema', schema);
    vi.stubEnv('COFFER_DATABASE_URL', url.toString());
    const key = new Uint8Array(32).fill(7);
    vi.stubEnv('COFFER_MASTER_KEY', Buffer.from(key).toString('base64'));
    try {
      expect(await codeOf(openStore({}))).toBe('VAULT_NOT_FOUND');
      const store = await openStore({}, { create: true });
      try {
        expect(store.kind).toBe('postgres');
        expect(store.location).toContain(`schema=${schema}`);
        await initVault(store, { masterKey: key, keySource: 'key', actor: 'test' });
      } finally {
        await store.close();
      }
      const opened = await openVault({});
      try {
        await opened.vault.set('project/app/key', 'dev', 'pg-value', {
          description: 'Signing key of the app service',
        });
        expect((await opened.vault.get('project/app/key', 'dev')).value).toBe('pg-value');
      } finally {
        await opened.close();
      }
    } finally {
      await dropPostgresSchema(testUrl!, schema);
    }
  });
});
