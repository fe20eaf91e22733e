/**
 * `rotate --sync` rewrites only the .env files this machine's coffer wrote the secret into:
 * never a path a client recorded through the server, a path that is now a link, a file that
 * no longer holds the variable, a file git tracks, or a variable another secret owns; and
 * nothing when the audit log that names them does not verify.
 */
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import type { AuditTrust } from '../audit/vouched.js';
import type { FilePlace } from './places.js';
import { rotateSecret } from './rotate.js';
import { syncDotenvFiles } from './sync.js';

let tv: TestVault | undefined;
afterEach(async () => {
  tv?.vault.close();
  await tv?.storage.close();
  tv = undefined;
});

const DESCRIPTION = 'API key the app calls the provider with';
/** The audit log verified (valuePlaces found it so). */
const TRUSTED: AuditTrust = { verified: true };
const place = (file: string, over: Partial<FilePlace> = {}): FilePlace => ({
  file,
  name: 'API_KEY',
  reference: null,
  version: 1,
  at: new Date().toISOString(),
  actor: 'cli:ann',
  via: 'env pull',
  ...over,
});

describe('syncDotenvFiles', () => {
  it('rewrites a file coffer wrote; refuses remote records, links, changed files', async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    await vault.set('project/app/api_key', 'dev', 'old-value-1', { description: DESCRIPTION });
    await vault.set('project/app/api_key', 'dev', 'new-value-2');
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coffer-sync-')));
    const mine = join(dir, '.env');
    writeFileSync(mine, 'API_KEY=old-value-1\n');
    const outside = join(dir, 'victim.conf');
    writeFileSync(outside, 'UNRELATED=1\nAPI_KEY=x\n');
    const link = join(dir, 'linked.env');
    symlinkSync(outside, link);
    const other = join(dir, 'other.env');
    writeFileSync(other, 'SOMETHING=else\n');
    const notes = join(dir, 'NOTES.md');
    writeFileSync(notes, '# readme\nAPI_KEY=old-value-1\n');
    const r = await syncDotenvFiles(
      vault,
      'project/app/api_key',
      'dev',
      [place(mine), place(notes, { actor: 'token:agent@203.0.113.9' }), place(link), place(other)],
      TRUSTED,
    );
    expect(r.files.map((f) => [f.file, f.outcome])).toEqual([
      [notes, 'remote'],
      [link, 'link'],
      [other, 'changed'],
      [mine, 'rewritten'],
    ]);
    expect(readFileSync(mine, 'utf8')).toBe('API_KEY=new-value-2\n');
    expect(readFileSync(outside, 'utf8')).toBe('UNRELATED=1\nAPI_KEY=x\n');
    expect(readFileSync(other, 'utf8')).toBe('SOMETHING=else\n');
    expect(readFileSync(notes, 'utf8')).toBe('# readme\nAPI_KEY=old-value-1\n');
  });

  it('leaves a file recorded under a refused name as it is, and audits it as denied', async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    await vault.set('project/app/api_key', 'dev', 'old-value-Ys1', { description: DESCRIPTION });
    await vault.set('project/app/api_key', 'dev', 'new-value-Ys2');
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coffer-sync-')));
    // Written with env pull --allow-env-name (which sync does not take), or a planted record.
    const file = join(dir, '.env');
    writeFileSync(file, 'NODE_OPTIONS=old-value-Ys1\n');
    const r = await syncDotenvFiles(
      vault,
      'project/app/api_key',
      'dev',
      [place(file, { name: 'NODE_OPTIONS' })],
      TRUSTED,
    );
    expect(r.files.map((f) => [f.name, f.outcome])).toEqual([['NODE_OPTIONS', 'refused-name']]);
    expect(readFileSync(file, 'utf8')).toBe('NODE_OPTIONS=old-value-Ys1\n');
    const records = await tv.storage.transaction('read', (tx) => tx.listAudit({}));
    expect(records.filter((x) => x.outcome === 'denied')).toEqual([
      expect.objectContaining({
        action: 'rotate_sync',
        path: 'project/app/api_key',
        env: 'dev',
        detail: expect.stringMatching(/^ENV_NAME_REFUSED NODE_OPTIONS: /),
      }),
    ]);
    expect(JSON.stringify(records)).not.toMatch(/value-Ys/);
  });

  it('says, and audits, that the previous value is not written under a refused previous name', async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    const path = 'project/app/api_key';
    await vault.set(path, 'dev', 'value-v1-Kp3', { description: DESCRIPTION });
    // Allowed on this machine when it rotated (rotate --allow-env-name); sync takes no allowance.
    await rotateSecret(vault, {
      path,
      env: 'dev',
      graceMs: 86_400_000,
      value: 'value-v2-Kp4',
      previousName: 'NODE_OPTIONS',
      allowEnvNames: ['NODE_OPTIONS'],
    });
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coffer-sync-')));
    const file = join(dir, '.env');
    writeFileSync(file, 'API_KEY=value-v1-Kp3\n');
    const gone = join(dir, 'gone.env');
    const r = await syncDotenvFiles(vault, path, 'dev', [place(file), place(gone)], TRUSTED);
    expect(r.files.map((f) => [f.file, f.name, f.outcome])).toEqual([
      [gone, 'API_KEY', 'missing'],
      [file, 'API_KEY', 'rewritten'],
      [file, 'NODE_OPTIONS', 'refused-previous'],
    ]);
    expect(readFileSync(file, 'utf8')).toBe('API_KEY=value-v2-Kp4\n');
    const records = await tv.storage.transaction('read', (tx) => tx.listAudit({}));
    expect(records.filter((x) => x.outcome === 'denied')).toEqual([
      expect.objectContaining({
        action: 'rotate_sync',
        path,
        env: 'dev',
        detail: expect.stringMatching(/^ENV_NAME_REFUSED NODE_OPTIONS: Node\.js runs/),
      }),
    ]);
    expect(JSON.stringify(records)).not.toMatch(/value-v\d-Kp/);
    // Nothing to rewrite: nothing said about the previous value, nothing audited.
    const again = await syncDotenvFiles(vault, path, 'dev', [place(gone)], TRUSTED);
    expect(again.files.map((f) => f.outcome)).toEqual(['missing']);
    const after = await tv.storage.transaction('read', (tx) => tx.listAudit({}));
    expect(after.filter((x) => x.outcome === 'denied')).toHaveLength(1);
  });

  it("never writes under another secret's variable, and rotate refuses such a previous name", async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    await vault.set('project/app/api_key', 'dev', 'api-old-1', { description: DESCRIPTION });
    await vault.set('project/app/db_password', 'dev', 'db-pass-1', { description: DESCRIPTION });
    await expect(
      rotateSecret(vault, {
        path: 'project/app/api_key',
        env: 'dev',
        graceMs: 86_400_000,
        value: 'api-new-2',
        previousName: 'DB_PASSWORD',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await vault.get('project/app/api_key', 'dev')).version).toBe(1);
    // A record under that name (written by an older coffer) is left alone.
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coffer-sync-')));
    const env = join(dir, '.env');
    writeFileSync(env, 'DB_PASSWORD=api-old-1\n');
    const r = await syncDotenvFiles(
      vault,
      'project/app/api_key',
      'dev',
      [place(env, { name: 'DB_PASSWORD' })],
      TRUSTED,
    );
    expect(r.files[0]?.outcome).toBe('name-taken');
    expect(readFileSync(env, 'utf8')).toBe('DB_PASSWORD=api-old-1\n');
  });

  it('a record under the previous: name gets the previous value in grace, and goes after it', async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    const path = 'project/app/api_key';
    await vault.set(path, 'dev', 'value-v1-aaaa', {
      description: DESCRIPTION,
      metadata: { generator: 'hex:16' },
    });
    await rotateSecret(vault, {
      path,
      env: 'dev',
      graceMs: 86_400_000,
      previousName: 'API_KEY_OLD',
    });
    const v2 = (await vault.get(path, 'dev')).value;
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coffer-sync-')));
    const file = join(dir, '.env');
    writeFileSync(file, `API_KEY=${v2}\nAPI_KEY_OLD=value-v1-aaaa\n`);
    const records = [place(file, { version: 2 }), place(file, { name: 'API_KEY_OLD', version: 1 })];
    // A second rotation inside the window: v2 becomes the previous value, v1 is retired.
    await rotateSecret(vault, { path, env: 'dev', graceMs: 86_400_000 });
    const v3 = (await vault.get(path, 'dev')).value;
    await syncDotenvFiles(vault, path, 'dev', records, TRUSTED);
    expect(readFileSync(file, 'utf8')).toBe(`API_KEY=${v3}\nAPI_KEY_OLD=${v2}\n`);
    // Finished with no window: the previous name comes out.
    await rotateSecret(vault, { path, env: 'dev', graceMs: 0 });
    const v4 = (await vault.get(path, 'dev')).value;
    await syncDotenvFiles(vault, path, 'dev', records, TRUSTED);
    expect(readFileSync(file, 'utf8')).toBe(`API_KEY=${v4}\n`);
  });

  it("never takes out the synced secret's own variable, though another rotation once used its name", async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    const a = 'project/app/api_key';
    await vault.set(a, 'dev', 'a-value-1111', {
      description: DESCRIPTION,
      metadata: { generator: 'hex:16' },
    });
    await rotateSecret(vault, { path: a, env: 'dev', graceMs: 0, previousName: 'LEGACY_KEY' });
    const b = 'project/app/legacy_key';
    await vault.set(b, 'dev', 'legacy-value-123', { description: DESCRIPTION });
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coffer-sync-')));
    const file = join(dir, '.env');
    writeFileSync(file, 'LEGACY_KEY=legacy-value-123\n');
    await rotateSecret(vault, { path: b, env: 'dev', graceMs: 0, value: 'legacy-value-456' });
    const r = await syncDotenvFiles(
      vault,
      b,
      'dev',
      [place(file, { name: 'LEGACY_KEY' })],
      TRUSTED,
    );
    expect(r.files.map((f) => f.outcome)).toEqual(['rewritten']);
    expect(readFileSync(file, 'utf8')).toBe('LEGACY_KEY=legacy-value-456\n');
  });

  it('skips a recorded file whose directory has become a link, and the writer checks it again', async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    await vault.set('project/app/api_key', 'dev', 'old-value-1', { description: DESCRIPTION });
    await vault.set('project/app/api_key', 'dev', 'new-value-2');
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coffer-sync-dir-')));
    const elsewhere = join(dir, 'home');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, '.env'), 'API_KEY=x\n');
    // The audit log names <dir>/config/.env; config is now a link to another directory.
    symlinkSync(elsewhere, join(dir, 'config'));
    const recorded = join(dir, 'config', '.env');
    const r = await syncDotenvFiles(
      vault,
      'project/app/api_key',
      'dev',
      [place(recorded)],
      TRUSTED,
    );
    expect(r.files.map((f) => f.outcome)).toEqual(['link']);
    expect(readFileSync(join(elsewhere, '.env'), 'utf8')).toBe('API_KEY=x\n');
    const { writeDotenv } = await import('../dotenv/write.js');
    expect(() => writeDotenv(recorded, { API_KEY: 'v' }, { realDir: true })).toThrow(
      /reached through a symbolic link/,
    );
  });

  it('rewrites nothing when the audit log does not verify, and audits the refusal', async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    await vault.set('project/app/api_key', 'dev', 'old-value-Zq1', { description: DESCRIPTION });
    await vault.set('project/app/api_key', 'dev', 'new-value-Zq2');
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'coffer-sync-')));
    const file = join(dir, '.env');
    writeFileSync(file, 'API_KEY=old-value-Zq1\n');
    const problem = 'record 2 was changed (its fields hash to 0123456789abcdef)';
    await expect(
      syncDotenvFiles(vault, 'project/app/api_key', 'dev', [place(file)], {
        verified: false,
        problem,
      }),
    ).rejects.toMatchObject({ code: 'AUDIT_CHAIN_BROKEN' });
    expect(readFileSync(file, 'utf8')).toBe('API_KEY=old-value-Zq1\n');
    const records = await tv.storage.transaction('read', (tx) => tx.listAudit({}));
    expect(records.at(-1)).toMatchObject({
      action: 'rotate_sync',
      path: 'project/app/api_key',
      outcome: 'denied',
      detail: `the audit log does not verify: ${problem}`,
    });
  });

  it('never writes into a file git tracks; one git would commit gets the git warning', async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    await vault.set('project/app/api_key', 'dev', 'old-value-Gt1', { description: DESCRIPTION });
    await vault.set('project/app/api_key', 'dev', 'new-value-Gt2');
    const repo = realpathSync(mkdtempSync(join(tmpdir(), 'coffer-sync-git-')));
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
    git('init', '-q');
    const example = join(repo, '.env.example');
    writeFileSync(example, 'API_KEY=\n');
    git('add', '.env.example');
    const loose = join(repo, '.env');
    writeFileSync(loose, 'API_KEY=old-value-Gt1\n');
    const r = await syncDotenvFiles(
      vault,
      'project/app/api_key',
      'dev',
      [place(example), place(loose)],
      TRUSTED,
    );
    expect(r.files.map((f) => [f.file, f.outcome, f.warning])).toEqual([
      [example, 'tracked', undefined],
      [loose, 'rewritten', expect.stringContaining('is not ignored by git')],
    ]);
    expect(readFileSync(example, 'utf8')).toBe('API_KEY=\n');
    expect(readFileSync(loose, 'utf8')).toBe('API_KEY=new-value-Gt2\n');
  });
});
