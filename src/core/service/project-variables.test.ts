/**
 * projectValues: what `coffer redact` (and its agent hook) masks. Every environment's
 * variables, a previous value still live in its grace window among them; an environment
 * without secrets adds nothing, but a project or environment holding nothing at all is an
 * error rather than an empty list (which would let every value through unmasked).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { CofferError } from '../errors.js';
import { DAY_MS } from '../rotation/duration.js';
import { rotateSecret } from '../rotation/rotate.js';
import { Vault } from '../store/vault.js';
import { projectValues } from './project-variables.js';

let tv: TestVault | undefined;
afterEach(async () => {
  tv?.vault.close();
  await tv?.storage.close();
  tv = undefined;
});

const DESCRIPTION = 'Signs the session cookies of the web app';

async function seeded(): Promise<Vault> {
  tv = await makeTestVault();
  const vault = tv.vault;
  await vault.set('project/web/session_key', 'dev', 'dev-session-key-0123456789', {
    description: DESCRIPTION,
  });
  await vault.set('project/web/session_key', 'prod', 'prod-session-key-0123456789', {
    description: DESCRIPTION,
  });
  return vault;
}

const codeOf = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof CofferError ? err.code : String(err);
};

describe('projectValues', () => {
  it("gives every environment's values; an environment holding nothing adds none", async () => {
    const vault = await seeded();
    const s = vault.as('cli:test');
    expect((await projectValues(s, 'web', ['dev', 'prod'], 'redact')).sort()).toEqual([
      'dev-session-key-0123456789',
      'prod-session-key-0123456789',
    ]);
    expect(await projectValues(s, 'web', ['staging', 'prod'], 'redact')).toEqual([
      'prod-session-key-0123456789',
    ]);
  });

  it('refuses a project or environments that hold nothing (a typo would mask nothing)', async () => {
    const vault = await seeded();
    const s = vault.as('cli:test');
    expect(await codeOf(projectValues(s, 'wbe', ['dev'], 'redact'))).toBe('PROJECT_NOT_FOUND');
    expect(await codeOf(projectValues(s, 'web', ['stagign', 'qa'], 'redact'))).toBe(
      'ENVIRONMENT_NOT_FOUND',
    );
  });

  it('includes a previous value during its grace window (it is still live), not after', async () => {
    tv = await makeTestVault();
    const clock = { now: new Date('2026-01-01T00:00:00Z') };
    const vault = new Vault(tv.storage, tv.masterKey, { actor: 'cli:test', now: () => clock.now });
    await vault.set('project/web/session_key', 'prod', 'old-session-key-0123456789', {
      description: DESCRIPTION,
      metadata: { generator: 'urlsafe:32' },
    });
    await rotateSecret(vault, {
      path: 'project/web/session_key',
      env: 'prod',
      graceMs: 7 * DAY_MS,
      previousName: 'SESSION_KEY_PREVIOUS',
    });
    const current = (await vault.get('project/web/session_key', 'prod')).value;
    expect((await projectValues(vault.as('cli:test'), 'web', ['prod'], 'redact')).sort()).toEqual(
      [current, 'old-session-key-0123456789'].sort(),
    );
    clock.now = new Date(clock.now.getTime() + 8 * DAY_MS);
    expect(await projectValues(vault.as('cli:test'), 'web', ['prod'], 'redact')).toEqual([current]);
    vault.close();
  });
});
