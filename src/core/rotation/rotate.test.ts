import { afterEach, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { keyringFromEnv } from '../envelope/env-keyring.js';
import { decryptJsonBlob, encryptJsonBlob } from '../envelope/json-blob.js';
import type { CofferError } from '../errors.js';
import { fernetEncrypt, generateFernetKey } from '../fernet/fernet.js';
import { fernetDecryptAny, fernetRotate } from '../fernet/multi-fernet.js';
import { Vault } from '../store/vault.js';
import { DAY_MS } from './duration.js';
import { graceValues } from './grace.js';
import {
  finishRotation,
  planRotation,
  retiredVersions,
  rotateSecret,
  rotateUnderPolicy,
} from './rotate.js';
import { rotationStatus } from './status.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const at = (days: number) => new Date(T0 + days * DAY_MS);

let tv: TestVault | undefined;
afterEach(async () => {
  tv?.vault.close();
  await tv?.storage.close();
  tv = undefined;
});

async function clocked(): Promise<{ vault: Vault; clock: { now: Date } }> {
  tv = await makeTestVault();
  const clock = { now: at(0) };
  const vault = new Vault(tv.storage, tv.masterKey, { actor: 'cli:alice', now: () => clock.now });
  return { vault, clock };
}

async function auditText(): Promise<string> {
  return JSON.stringify(await tv!.storage.transaction('read', (tx) => tx.listAudit({})));
}

describe('rotate: seed 004 procedures in the library', () => {
  it('SECRET_KEY (generated): new value, previous injected during grace, then finished', async () => {
    const { vault, clock } = await clocked();
    await vault.set('project/agents/secret_key', 'prod', 'old-jwt-signing-key-0123456789abcdef', {
      description: 'Signs the login tokens users carry between requests',
      metadata: { generator: 'urlsafe:32', rotation: '1y' },
    });
    expect((await planRotation(vault, 'project/agents/secret_key', 'prod')).kind).toBe('generated');
    const r = await rotateSecret(vault, {
      path: 'project/agents/secret_key',
      env: 'prod',
      graceMs: 7 * DAY_MS,
      previousName: 'SECRET_KEY_PREVIOUS',
    });
    expect(r).toMatchObject({ kind: 'generated', previousVersion: 1, version: 2 });
    expect(r.graceUntil).toBe(at(7).toISOString());
    const now = await vault.get('project/agents/secret_key', 'prod');
    expect(now.value).not.toBe('old-jwt-signing-key-0123456789abcdef');
    expect(now.value.length).toBeGreaterThanOrEqual(43);

    // During the window the old value is injected under its previous name.
    clock.now = at(3);
    expect(await graceValues(vault, 'agents', 'prod', at(3))).toEqual([
      expect.objectContaining({
        envVar: 'SECRET_KEY_PREVIOUS',
        version: 1,
        value: 'old-jwt-signing-key-0123456789abcdef',
      }),
    ]);
    expect((await rotationStatus(vault, { now: at(3) })).items[0]!.state).toBe('in-grace');
    // After it, status asks to finish and nothing is injected any more.
    expect(await graceValues(vault, 'agents', 'prod', at(8))).toEqual([]);
    expect((await rotationStatus(vault, { now: at(8) })).items[0]!.state).toBe('grace-ended');
    const fin = await finishRotation(vault, { path: 'project/agents/secret_key', env: 'prod' });
    expect(fin).toMatchObject({ finished: true, retired: [1] });
    expect(await retiredVersions(vault, 'project/agents/secret_key', 'prod')).toEqual([1]);
    expect((await rotationStatus(vault, { now: at(8) })).items[0]!.state).toBe('ok');
    expect(
      (await finishRotation(vault, { path: 'project/agents/secret_key', env: 'prod' })).finished,
    ).toBe(false);
    const audit = await auditText();
    expect(audit).toContain('"action":"rotate"');
    expect(audit).toContain('"action":"rotate_finish"');
    expect(audit).not.toContain('old-jwt-signing-key');
    expect(audit).not.toContain(now.value);
  });

  it('OPENAI_API_KEY (external): refused without a value, then takes the new one', async () => {
    const { vault } = await clocked();
    await vault.set('project/agents/openai_api_key', 'prod', 'sk-old-111', {
      description: 'LLM access for the support assistant summaries',
    });
    expect((await planRotation(vault, 'project/agents/openai_api_key', 'prod')).kind).toBe(
      'external',
    );
    await expect(
      rotateSecret(vault, { path: 'project/agents/openai_api_key', env: 'prod', graceMs: 0 }),
    ).rejects.toMatchObject({ code: 'ROTATION_VALUE_REQUIRED' });
    await expect(
      rotateSecret(vault, {
        path: 'project/agents/openai_api_key',
        env: 'prod',
        graceMs: 0,
        value: 'sk-old-111',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    const r = await rotateSecret(vault, {
      path: 'project/agents/openai_api_key',
      env: 'prod',
      graceMs: 0,
      value: 'sk-new-222',
    });
    expect(r).toMatchObject({ kind: 'external', version: 2, graceUntil: null });
    expect((await vault.get('project/agents/openai_api_key', 'prod')).value).toBe('sk-new-222');
    // Without grace the old version is retired at once.
    expect(await retiredVersions(vault, 'project/agents/openai_api_key', 'prod')).toEqual([1]);
    expect(await auditText()).not.toMatch(/sk-old-111|sk-new-222/);
  });

  it('ENCRYPTION_KEY (Fernet key list): old tokens decrypt after rotation; finish keeps one key', async () => {
    const { vault } = await clocked();
    const k1 = generateFernetKey();
    await vault.set('project/agents/encryption_key', 'prod', k1, {
      description: 'Encrypts stored provider credentials at rest',
      metadata: { generator: 'fernet', tier: 3 },
    });
    const token = fernetEncrypt(k1, 'provider-credential');
    const r = await rotateSecret(vault, {
      path: 'project/agents/encryption_key',
      env: 'prod',
      graceMs: 0,
    });
    expect(r).toMatchObject({ kind: 'fernet', keys: 2 });
    const list = (await vault.get('project/agents/encryption_key', 'prod')).value.split(',');
    expect(list).toHaveLength(2);
    expect(list[1]).toBe(k1);
    expect(fernetDecryptAny(list, token).toString()).toBe('provider-credential');
    await expect(
      finishRotation(vault, { path: 'project/agents/encryption_key', env: 'prod' }),
    ).rejects.toMatchObject({ code: 'REWRAP_REQUIRED' });
    const rewrapped = fernetRotate(list, token);
    const fin = await finishRotation(vault, {
      path: 'project/agents/encryption_key',
      env: 'prod',
      rewrapped: true,
    });
    expect(fin).toMatchObject({ finished: true, version: 3, retired: [2, 1] });
    const only = (await vault.get('project/agents/encryption_key', 'prod')).value;
    expect(only).toBe(list[0]);
    expect(fernetDecryptAny([only], rewrapped).toString()).toBe('provider-credential');
    expect(() => fernetDecryptAny([only], token)).toThrow();
  });

  it('ENCRYPTION_KEY (coffer/envelope keyring): data sealed before still opens; k2 becomes primary', async () => {
    const { vault } = await clocked();
    const k1 = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
    await vault.set('project/agents/data_keys', 'prod', k1, {
      description: 'Encrypts stored provider credentials at rest',
      metadata: { tier: 3 },
    });
    const before = keyringFromEnv({ COFFER_DATA_KEYS: k1 });
    const sealed = encryptJsonBlob({ token: 'oauth' }, before, { context: 'accounts/1' });
    const r = await rotateSecret(vault, {
      path: 'project/agents/data_keys',
      env: 'prod',
      graceMs: 0,
    });
    expect(r).toMatchObject({ kind: 'envelope', keys: 2, primaryKeyId: 'k2' });
    const value = (await vault.get('project/agents/data_keys', 'prod')).value;
    expect(value.startsWith('k2:')).toBe(true);
    expect(value.endsWith(k1)).toBe(true);
    const after = keyringFromEnv({ COFFER_DATA_KEYS: value });
    expect(decryptJsonBlob(sealed, after, { context: 'accounts/1' })).toEqual({ token: 'oauth' });
    const resealed = encryptJsonBlob({ token: 'oauth' }, after, { context: 'accounts/1' });
    expect(JSON.stringify(resealed)).not.toBe(JSON.stringify(sealed));
    const fin = await finishRotation(vault, {
      path: 'project/agents/data_keys',
      env: 'prod',
      rewrapped: true,
    });
    expect(fin.finished).toBe(true);
    const only = (await vault.get('project/agents/data_keys', 'prod')).value;
    expect(only.split(',')).toHaveLength(1);
    expect(only.startsWith('k2:')).toBe(true);
    const ring = keyringFromEnv({ COFFER_DATA_KEYS: only });
    expect(decryptJsonBlob(resealed, ring, { context: 'accounts/1' })).toEqual({ token: 'oauth' });
    expect(() => decryptJsonBlob(sealed, ring, { context: 'accounts/1' })).toThrow();
  });

  it('a second rotation retires the first previous; a compromise is cleared by rotating', async () => {
    const { vault } = await clocked();
    await vault.set('project/app/session_key', 'dev', 'v1-session-key-abcdefghijklmnop', {
      description: 'Signs session cookies for logged-in users',
      metadata: { generator: 'hex:32' },
    });
    await rotateSecret(vault, {
      path: 'project/app/session_key',
      env: 'dev',
      graceMs: DAY_MS,
      previousName: 'SESSION_KEY_OLD',
    });
    const second = await rotateSecret(vault, {
      path: 'project/app/session_key',
      env: 'dev',
      graceMs: DAY_MS,
    });
    expect(second).toMatchObject({
      previousVersion: 2,
      version: 3,
      previousName: 'SESSION_KEY_OLD',
      // Version 1 was still in its grace window: the result says it is retired early.
      retiredEarly: 1,
    });
    expect(await retiredVersions(vault, 'project/app/session_key', 'dev')).toEqual([1]);
    const g = await graceValues(vault, 'app', 'dev', at(0));
    expect(g.map((x) => [x.envVar, x.version])).toEqual([['SESSION_KEY_OLD', 2]]);
  });

  it('refuses a bad generator or previous name before any transaction', async () => {
    const { vault } = await clocked();
    await expect(
      rotateSecret(vault, { path: 'project/a/b', env: 'dev', graceMs: 0, generator: 'nope:1' }),
    ).rejects.toThrow();
    await expect(
      rotateSecret(vault, {
        path: 'project/a/b',
        env: 'dev',
        graceMs: 0,
        previousName: 'bad name',
      }),
    ).rejects.toThrow();
    // A name run and env pull refuse would stop them for the whole project.
    for (const previousName of ['NODE_OPTIONS', 'LD_PRELOAD'])
      await expect(
        rotateSecret(vault, { path: 'project/a/b', env: 'dev', graceMs: 0, previousName }),
      ).rejects.toMatchObject({ code: 'ENV_NAME_REFUSED' });
    await expect(
      rotateSecret(vault, { path: 'project/a/missing', env: 'dev', graceMs: 0 }),
    ).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
  });

  it('audits a refused previous name as a denied rotate, and leaves the secret as it was', async () => {
    const { vault } = await clocked();
    const path = 'project/app/session_key';
    await vault.set(path, 'dev', 'v1-session-key-abcdefghijklmnop', {
      description: 'Signs session cookies for logged-in users',
      metadata: { generator: 'urlsafe:32' },
    });
    // Called from an async function, which turns a throw before any await into a rejection too.
    const rotate = async (previousName: string) =>
      rotateSecret(vault, { path, env: 'dev', graceMs: DAY_MS, previousName });
    await expect(rotate('NODE_OPTIONS')).rejects.toMatchObject({ code: 'ENV_NAME_REFUSED' });
    expect((await vault.get(path, 'dev')).version).toBe(1);
    const records = await tv!.storage.transaction('read', (tx) => tx.listAudit({}));
    const denied = records.filter((r) => r.outcome === 'denied');
    expect(denied).toEqual([
      expect.objectContaining({
        action: 'rotate',
        path,
        env: 'dev',
        detail: expect.stringMatching(/^ENV_NAME_REFUSED NODE_OPTIONS: /),
      }),
    ]);
    expect(records.filter((r) => r.action === 'rotate' && r.outcome === 'ok')).toEqual([]);
    expect(JSON.stringify(records)).not.toContain('v1-session-key');

    // Under a policy (the web UI), through the caller's deny.
    const { AccessPolicy } = await import('../access/policy.js');
    const seen: { action: string; path: string | undefined; reason: string }[] = [];
    const policy = new AccessPolicy(
      { allow: ['project/app/*'], envs: [], caps: ['read', 'write'] },
      'ann',
    );
    await expect(
      rotateUnderPolicy(
        vault,
        policy,
        async (action, t, reason) => {
          seen.push({ action, path: t.path, reason });
        },
        { path, env: 'dev', grace: '1d', previousName: 'ld_preload' },
      ),
    ).rejects.toMatchObject({ code: 'ENV_NAME_REFUSED' });
    expect(seen).toEqual([
      { action: 'rotate', path, reason: expect.stringMatching(/^ENV_NAME_REFUSED ld_preload: /) },
    ]);
    expect((await vault.get(path, 'dev')).version).toBe(1);
  });

  it('accepts a refused previous name this machine allows, as run then injects it; never for a caller of the server', async () => {
    const { vault } = await clocked();
    const path = 'project/app/session_key';
    await vault.set(path, 'dev', 'v1-session-key-abcdefghijklmnop', {
      description: 'Signs session cookies for logged-in users',
      metadata: { generator: 'urlsafe:32' },
    });
    // Allowed in any case (node_options is NODE_OPTIONS to npm and on Windows).
    const r = await rotateSecret(vault, {
      path,
      env: 'dev',
      graceMs: DAY_MS,
      previousName: 'NODE_OPTIONS',
      allowEnvNames: ['node_options'],
    });
    expect(r.previousName).toBe('NODE_OPTIONS');
    expect((await graceValues(vault, 'app', 'dev', at(0))).map((g) => g.envVar)).toEqual([
      'NODE_OPTIONS',
    ]);
    // Another name stays refused, and the refusal says how to allow it.
    const err = await rotateSecret(vault, {
      path,
      env: 'dev',
      graceMs: DAY_MS,
      previousName: 'LD_PRELOAD',
      allowEnvNames: ['NODE_OPTIONS'],
    }).catch((e: unknown) => e as CofferError);
    expect(err).toMatchObject({ code: 'ENV_NAME_REFUSED' });
    expect((err as CofferError).hint).toContain('--allow-env-name LD_PRELOAD');
    // Through the server (the web UI), nothing the caller sends allows a name.
    const { AccessPolicy } = await import('../access/policy.js');
    const policy = new AccessPolicy(
      { allow: ['project/app/*'], envs: [], caps: ['read', 'write'] },
      'ann',
    );
    await expect(
      rotateUnderPolicy(vault, policy, async () => {}, {
        path,
        env: 'dev',
        grace: '1d',
        previousName: 'NODE_OPTIONS',
        ...({ allowEnvNames: ['NODE_OPTIONS'] } as object),
      }),
    ).rejects.toMatchObject({ code: 'ENV_NAME_REFUSED' });
    expect((await vault.get(path, 'dev')).version).toBe(2);
  });

  it("a rotation after a leak was reported is that incident's rotation", async () => {
    const { vault } = await clocked();
    const path = 'project/app/session_key';
    await vault.set(path, 'dev', 'v1-session-key-abcdefghijklmnop', {
      description: 'Signs session cookies for logged-in users',
      metadata: { generator: 'hex:32' },
    });
    const { openIncident, listIncidents } = await import('../incident/incident.js');
    const opened = await openIncident(vault, { path, env: 'dev', where: 'a log' });
    const r = await rotateSecret(vault, { path, env: 'dev', graceMs: 0 });
    expect(r.retiredEarly).toBeNull();
    const [incident] = await listIncidents(vault);
    expect(incident?.id).toBe(opened.incident.id);
    expect(incident?.steps.map((st) => [st.step, st.detail])).toEqual([
      ['marked compromised', 'a log'],
      ['rotated', 'version 1 -> 2 (generated)'],
    ]);
    // The next rotation is not the incident's: it keeps its one rotated step.
    await rotateSecret(vault, { path, env: 'dev', graceMs: 0 });
    expect((await listIncidents(vault))[0]?.steps).toHaveLength(2);
  });

  it('under a policy that may not read the value: no equality answer, the value is stored', async () => {
    const { vault } = await clocked();
    const path = 'project/app/db_url';
    await vault.set(path, 'dev', 'postgres://app:current-pw@db/app', {
      description: 'Database URL of the app for orders',
    });
    const { AccessPolicy } = await import('../access/policy.js');
    const denied: string[] = [];
    const deny = async (action: string) => {
      denied.push(action);
    };
    const blind = new AccessPolicy(
      { allow: ['project/app/*'], envs: [], caps: ['list', 'write'], reveal: 'never' },
      'agent',
    );
    // The current value as a guess: stored as a new version, no "is the current one".
    const r = await rotateUnderPolicy(vault, blind, deny, {
      path,
      env: 'dev',
      grace: '0',
      value: 'postgres://app:current-pw@db/app',
    });
    expect(r.version).toBe(2);
    // A policy that may read the value gets the refusal.
    const reader = new AccessPolicy(
      { allow: ['project/app/*'], envs: [], caps: ['read', 'write'] },
      'ann',
    );
    await expect(
      rotateUnderPolicy(vault, reader, deny, {
        path,
        env: 'dev',
        grace: '0',
        value: 'postgres://app:current-pw@db/app',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    // Outside the policy, or a reference beyond it: refused and audited through deny.
    await expect(
      rotateUnderPolicy(vault, blind, deny, { path: 'project/other/x', env: 'dev', grace: 'soon' }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      rotateUnderPolicy(vault, blind, deny, {
        path,
        env: 'dev',
        grace: '0',
        value: '{{ coffer://project/other/secret }}',
      }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(denied).toEqual(['rotate', 'rotate']);
  });

  it("a key list rotated by hand after a leak, grace or not, is the incident's rotation", async () => {
    const { vault } = await clocked();
    const path = 'project/agents/encryption_key';
    await vault.set(path, 'prod', generateFernetKey(), {
      description: 'Encrypts stored provider credentials at rest',
      metadata: { generator: 'fernet', tier: 3 },
    });
    const { openIncident, listIncidents } = await import('../incident/incident.js');
    await openIncident(vault, { path, env: 'prod', where: 'a log' });
    await rotateSecret(vault, { path, env: 'prod', graceMs: 7 * DAY_MS });
    const [incident] = await listIncidents(vault);
    expect(incident?.steps.map((st) => st.step)).toEqual(['marked compromised', 'rotated']);
  });
});
