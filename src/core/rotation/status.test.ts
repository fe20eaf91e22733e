import { afterEach, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { Vault } from '../store/vault.js';
import { DAY_MS, parseDuration, readDuration } from './duration.js';
import { readRotationDoc, slotKey, writeRotationDoc } from './state.js';
import { classifySecret, rotationStatus } from './status.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(T0 + days * DAY_MS);

let tv: TestVault | undefined;
afterEach(async () => {
  tv?.vault.close();
  await tv?.storage.close();
  tv = undefined;
});

/** A vault whose clock is `clock.now` (moved by the test). */
async function clocked(): Promise<{ vault: Vault; clock: { now: Date } }> {
  tv = await makeTestVault();
  const clock = { now: at(0) };
  const vault = new Vault(tv.storage, tv.masterKey, { actor: 'cli:alice', now: () => clock.now });
  return { vault, clock };
}

describe('durations', () => {
  it.each([
    ['0', 0],
    ['12h', 12 * 3_600_000],
    ['7d', 7 * DAY_MS],
    ['2w', 14 * DAY_MS],
    ['1y', 365 * DAY_MS],
  ])('%s', (text, ms) => expect(readDuration(text)).toBe(ms));

  it.each(['', '7', '07d', '-1d', '1.5d', '7 d', '10000d'])('%j is refused', (text) => {
    expect(() => parseDuration(text, '--grace')).toThrow(/invalid --grace/);
  });
});

describe('classifySecret (pure)', () => {
  const secret = { path: 'project/a/k', env: 'dev', rotation: '90d', currentVersion: 1 };
  const v1 = { createdAt: at(0).toISOString(), actor: 'cli:alice' };
  it('moves from ok to due-soon to overdue exactly at the boundaries', () => {
    expect(classifySecret(secret, v1, undefined, at(59)).state).toBe('ok');
    expect(classifySecret(secret, v1, undefined, at(60)).state).toBe('due-soon');
    expect(classifySecret(secret, v1, undefined, new Date(T0 + 90 * DAY_MS - 1)).state).toBe(
      'due-soon',
    );
    const over = classifySecret(secret, v1, undefined, at(90));
    expect(over).toMatchObject({ state: 'overdue', daysLeft: 0, ageDays: 90, neverRotated: true });
    expect(classifySecret(secret, v1, undefined, at(100)).daysLeft).toBe(-10);
  });

  it('honours the due-soon window', () => {
    expect(classifySecret(secret, v1, undefined, at(80), 7 * DAY_MS).state).toBe('ok');
    expect(classifySecret(secret, v1, undefined, at(83), 7 * DAY_MS).state).toBe('due-soon');
  });

  it('grace, compromise and policies without a period', () => {
    const grace = {
      previousVersion: 1,
      graceUntil: at(7).toISOString(),
      previousName: null,
      rotatedAt: at(0).toISOString(),
      rotatedBy: 'cli:alice',
      retired: [],
      compromisedAt: null,
      keyring: null,
      oldKeys: 0,
    };
    const v2 = { ...secret, currentVersion: 2 };
    expect(classifySecret(v2, v1, grace, at(6)).state).toBe('in-grace');
    const ended = classifySecret(v2, v1, grace, at(7));
    expect(ended.state).toBe('grace-ended');
    expect(ended.action).toBe('coffer rotate --finish project/a/k --env dev');
    expect(ended.rotatedBy).toBe('cli:alice');
    const comp = { ...grace, graceUntil: null, compromisedAt: at(1).toISOString() };
    expect(classifySecret(secret, v1, comp, at(1)).state).toBe('compromised');
    expect(
      classifySecret({ ...secret, rotation: 'on-compromise' }, v1, undefined, at(900)).state,
    ).toBe('ok');
    expect(classifySecret({ ...secret, rotation: null }, v1, undefined, at(900)).state).toBe(
      'no-policy',
    );
  });
});

describe('rotationStatus (vault, injected clock)', () => {
  it('reports overdue, due soon, never rotated and who rotated last', async () => {
    const { vault, clock } = await clocked();
    const d = { description: 'LLM access for the support assistant summaries' };
    await vault.set('project/app/openai_api_key', 'prod', 'sk-1', {
      ...d,
      metadata: { rotation: '90d' },
    });
    await vault.set('project/app/secret_key', 'prod', 'jwt-1', {
      description: 'JWT signing key of the agents service',
      metadata: { rotation: '1y' },
    });
    await vault.set('project/app/plain', 'dev', 'x', {
      description: 'Feature flag service token for staging',
    });
    clock.now = at(100);
    const bob = vault.withActor('cli:bob');
    await bob.set('project/app/secret_key', 'prod', 'jwt-2');

    const r = await rotationStatus(vault, { now: at(340), dueWithinMs: 30 * DAY_MS });
    const by = new Map(r.items.map((i) => [i.path, i]));
    expect(by.get('project/app/openai_api_key')).toMatchObject({
      state: 'overdue',
      neverRotated: true,
      rotatedBy: null,
      ageDays: 340,
    });
    expect(by.get('project/app/secret_key')).toMatchObject({
      state: 'ok',
      version: 2,
      rotatedBy: 'cli:bob',
      ageDays: 240,
      neverRotated: false,
    });
    expect(by.get('project/app/plain')!.state).toBe('no-policy');
    expect(r.overdue).toBe(1);
    expect(r.items[0]!.state).toBe('overdue');

    // 100 + 365 - 30: the JWT key enters the due-soon window, then becomes overdue.
    expect(by.get('project/app/secret_key')!.dueAt).toBe(at(465).toISOString());
    const soon = await rotationStatus(vault, { now: at(435), env: 'prod' });
    expect(soon.items.map((i) => [i.path, i.state])).toEqual([
      ['project/app/openai_api_key', 'overdue'],
      ['project/app/secret_key', 'due-soon'],
    ]);
    const later = await rotationStatus(vault, {
      now: at(465),
      prefix: { scope: 'project', group: 'app' },
    });
    expect(later.counts.overdue).toBe(2);
  });

  it("a version time edited in the database cannot postpone a rotation past the row's last change", async () => {
    const { vault, clock } = await clocked();
    await vault.set('project/app/db_password', 'prod', 'pw-1', {
      description: 'Password of the billing database user',
      metadata: { rotation: '90d' },
    });
    clock.now = at(10);
    await vault.set('project/app/db_password', 'prod', 'pw-2');
    const before = await rotationStatus(vault, { now: at(200) });
    expect(before.items[0]).toMatchObject({ state: 'overdue', ageDays: 190 });
    // Someone with write access to the file, not the key, moves version 2 ten years on.
    tv!.storage.database
      .prepare(
        "UPDATE secret_versions SET created_at = ?, actor = 'cli:security' WHERE version = 2",
      )
      .run(at(3650).toISOString());
    const after = await rotationStatus(vault, { now: at(200) });
    expect(after.items[0]).toMatchObject({ state: 'overdue', ageDays: 190 });
    // An earlier time (or garbage) is kept within the row's own times too.
    tv!.storage.database
      .prepare("UPDATE secret_versions SET created_at = 'not a time' WHERE version = 2")
      .run();
    expect((await rotationStatus(vault, { now: at(200) })).items[0]).toMatchObject({
      state: 'overdue',
      ageDays: 190,
    });
  });

  it('filters by what the caller may see, lists no deleted secret, and audits names only', async () => {
    const { vault } = await clocked();
    const d = {
      description: 'Stripe API key for payment processing',
      metadata: { rotation: '90d' },
    };
    await vault.set('project/app/stripe_key', 'dev', 'sk_live_value', d);
    await vault.set('project/other/stripe_key', 'dev', 'sk_live_other', d);
    await vault.set('project/app/gone', 'dev', 'v', d);
    await vault.delete('project/app/gone', 'dev');
    const r = await rotationStatus(vault, {
      now: at(1),
      allows: (path) => path.startsWith('project/app/'),
    });
    expect(r.items.map((i) => i.path)).toEqual(['project/app/stripe_key']);
    const text = JSON.stringify(await tv!.storage.transaction('read', (tx) => tx.listAudit({})));
    expect(text).toContain('rotation_status');
    expect(text).not.toContain('sk_live');
  });

  it('shows the grace window and a compromise from the rotation state', async () => {
    const { vault } = await clocked();
    await vault.set('project/app/k', 'dev', 'one', {
      description: 'Session signing key of the web app',
      metadata: { rotation: '90d' },
    });
    await vault.auditedTransaction('test', async (tx, keyring) => {
      const doc = await readRotationDoc(tx, keyring);
      doc.secrets[slotKey('project/app/k', 'dev')] = {
        previousVersion: null,
        graceUntil: null,
        previousName: null,
        rotatedAt: null,
        rotatedBy: null,
        retired: [],
        compromisedAt: at(2).toISOString(),
        keyring: null,
        oldKeys: 0,
      };
      await writeRotationDoc(tx, keyring, doc);
      return { result: undefined };
    });
    const r = await rotationStatus(vault, { now: at(3) });
    expect(r.items[0]).toMatchObject({ state: 'compromised', compromisedAt: at(2).toISOString() });
    expect(r.overdue).toBe(1);
  });

  it('refuses a rotation state changed without the master key', async () => {
    const { vault } = await clocked();
    await vault.set('project/app/k', 'dev', 'one', {
      description: 'Session signing key of the web app',
    });
    await vault.auditedTransaction('test', async (tx, keyring) => {
      await writeRotationDoc(tx, keyring, { secrets: {}, incidents: [] });
      return { result: undefined };
    });
    await tv!.storage.transaction('write', async (tx) => {
      const stored = JSON.parse((await tx.getMeta('rotation_state'))!) as { body: string };
      const body = JSON.stringify({
        secrets: { [slotKey('project/app/k', 'dev')]: { graceUntil: '2999-01-01T00:00:00Z' } },
        incidents: [],
      });
      await tx.setMeta('rotation_state', JSON.stringify({ ...stored, v: 1, body }));
    });
    await expect(rotationStatus(vault, { now: at(3) })).rejects.toMatchObject({
      code: 'INTEGRITY_FAILURE',
    });
  });

  it('refuses a secret row whose policy was changed without the master key', async () => {
    const { vault } = await clocked();
    await vault.set('project/app/k', 'dev', 'one', {
      description: 'Session signing key of the web app',
      metadata: { rotation: '90d' },
    });
    await vault.set('project/app/k', 'dev', 'two');
    expect((await rotationStatus(vault, { now: at(200) })).counts.overdue).toBe(1);
    // Hiding an overdue secret by editing its policy in the database is refused.
    await tv!.storage.transaction('write', (tx) =>
      tx.updateSecret('project/app/k', 'dev', { rotation: 'never' }),
    );
    await expect(rotationStatus(vault, { now: at(200) })).rejects.toMatchObject({
      code: 'INTEGRITY_FAILURE',
    });
  });
});
