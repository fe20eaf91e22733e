/**
 * Generate-if-absent, case by case (the table in ensure.ts): what is kept, what is copied,
 * what is a conflict, with a real vault. No value ever enters an error.
 */
import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault } from '../../../test/helpers/vault.js';
import { CofferError } from '../errors.js';
import { type EnsureRequest, ensureGenerated } from './ensure.js';

const PATH = 'project/app/signing_key';
const V = 'vault-value-Kq83jdQ0aZ1mXbTy7wEr';
const W = 'file-value-Pz91LmQw3eRt5yUi0oAs';

type VaultState = 'absent' | 'present' | 'deleted';
type FileState = 'none' | 'empty' | 'same' | 'other';

async function setup(state: VaultState) {
  const { vault } = await makeTestVault();
  if (state !== 'absent') await vault.set(PATH, 'dev', V, { description: DESCRIPTION });
  if (state === 'deleted') await vault.delete(PATH, 'dev');
  return vault;
}

function fileValue(f: FileState): string | undefined {
  return { none: undefined, empty: '', same: V, other: W }[f];
}

async function attempt(state: VaultState, file: FileState | undefined, force = false) {
  const vault = await setup(state);
  const req: EnsureRequest = {
    spec: { kind: 'base64' },
    force,
    store: { vault, path: PATH, env: 'dev', description: DESCRIPTION },
    file:
      file === undefined
        ? undefined
        : { name: '.env', variable: 'SIGNING_KEY', value: fileValue(file) },
  };
  const outcome = await ensureGenerated(req).then(
    (r) => r,
    (e: unknown) => e,
  );
  const stored = await vault.get(PATH, 'dev').then(
    (r) => ({ value: r.value, version: r.version }),
    (e: CofferError) => e.code,
  );
  return { outcome, stored };
}

describe('ensureGenerated without force', () => {
  it.each([
    // vault, file, action, source, the value both hold afterwards, file to write, version
    ['absent', 'none', 'generated', 'generated', 'new', true, 1],
    ['absent', 'empty', 'generated', 'generated', 'new', true, 1],
    ['absent', 'other', 'kept', 'file', W, false, 1],
    ['present', 'none', 'kept', 'vault', V, true, 1],
    ['present', 'empty', 'kept', 'vault', V, true, 1],
    ['present', 'same', 'kept', 'vault', V, false, 1],
    ['absent', undefined, 'generated', 'generated', 'new', false, 1],
    ['present', undefined, 'kept', 'vault', V, false, 1],
  ] as const)(
    'vault %s, file %s: %s from %s',
    async (state, file, action, source, value, writeFile, version) => {
      const { outcome, stored } = await attempt(state, file);
      expect(outcome).toMatchObject({ action, source, writeFile });
      const r = outcome as { value: string };
      if (value === 'new') {
        expect([V, W]).not.toContain(r.value);
        expect(stored).toEqual({ value: r.value, version });
      } else {
        expect(stored).toEqual({ value, version });
        if (file !== undefined) expect(r.value).toBe(value);
      }
    },
  );

  it('a vault and a file that differ are VALUE_CONFLICT; nothing is stored', async () => {
    const { outcome, stored } = await attempt('present', 'other');
    expect(outcome).toBeInstanceOf(CofferError);
    const e = outcome as CofferError;
    expect(e.code).toBe('VALUE_CONFLICT');
    expect(e.errorClass).toBe('conflict');
    expect(e.message).toBe(
      `SIGNING_KEY differs between the vault (${PATH}, dev, version 1) and .env; nothing was changed`,
    );
    expect(`${e.message} ${e.hint}`).not.toContain(V);
    expect(`${e.message} ${e.hint}`).not.toContain(W);
    expect(stored).toEqual({ value: V, version: 1 });
  });

  it('a deleted secret is SECRET_DELETED, whatever the file holds; it stays deleted', async () => {
    for (const file of [undefined, 'none', 'other'] as const) {
      const { outcome, stored } = await attempt('deleted', file);
      expect(outcome).toMatchObject({ code: 'SECRET_DELETED' });
      expect(stored).toBe('SECRET_DELETED');
    }
  });

  it('a kept vault value is not decrypted when there is no file side', async () => {
    const vault = await setup('present');
    let reads = 0;
    const counting = {
      info: vault.info.bind(vault),
      set: vault.set.bind(vault),
      get: (path: string, env: string) => {
        reads++;
        return vault.get(path, env);
      },
    };
    const r = await ensureGenerated({
      spec: { kind: 'hex' },
      store: { vault: counting, path: PATH, env: 'dev' },
    });
    expect(r).toMatchObject({ action: 'kept', source: 'vault', version: 1, value: '' });
    expect(reads).toBe(0);
  });
});

describe('ensureGenerated with force', () => {
  it.each([
    ['present', 'other', 'replaced'],
    ['present', 'none', 'replaced'],
    ['absent', 'other', 'replaced'],
    ['deleted', undefined, 'replaced'],
    ['absent', 'none', 'generated'],
  ] as const)(
    'vault %s, file %s: %s, both sides get the new value',
    async (state, file, action) => {
      const { outcome, stored } = await attempt(state, file, true);
      expect(outcome).toMatchObject({ action, source: 'generated', writeFile: file !== undefined });
      const r = outcome as { value: string };
      expect([V, W]).not.toContain(r.value);
      expect(stored).toMatchObject({ value: r.value });
    },
  );
});

it('without a vault side, the file alone decides', async () => {
  const keep = await ensureGenerated({
    spec: { kind: 'hex' },
    file: { name: '.env', variable: 'K', value: W },
  });
  expect(keep).toMatchObject({
    action: 'kept',
    source: 'file',
    writeFile: false,
    stored: undefined,
  });
  const fresh = await ensureGenerated({
    spec: { kind: 'hex' },
    file: { name: '.env', variable: 'K', value: '' },
  });
  expect(fresh).toMatchObject({ action: 'generated', writeFile: true, version: undefined });
  expect(fresh.value).toMatch(/^[0-9a-f]{64}$/);
});
