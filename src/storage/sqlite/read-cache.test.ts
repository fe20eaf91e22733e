/**
 * The SQLite read cache (read-cache.ts) never serves what the file no longer holds: rows
 * changed by another connection (an intruder editing the file while a server runs), writes
 * of a transaction that rolled back, and any sequence of writes and reads (model test
 * against a second, uncached connection).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secretRecord } from '../../../test/helpers/records.js';
import { CofferError } from '../../core/errors.js';
import { initVault } from '../../core/store/init.js';
import { Vault } from '../../core/store/vault.js';
import { openSqliteStorage, type SqliteStorage } from './sqlite-storage.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'coffer-read-cache-'));
  file = join(dir, 'vault.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const T0 = '2025-01-01T00:00:00.000Z';
const secret = (path: string, description: string) => secretRecord(path, 'dev', { description });

describe('SQLite read cache', () => {
  it('a secret row changed by another connection after a read is read again and refused', async () => {
    const storage = openSqliteStorage(file, { create: true, groupCommit: true });
    const key = new Uint8Array(32).fill(7);
    await initVault(storage, { masterKey: key, keySource: 'key', actor: 'test' });
    const vault = new Vault(storage, key, { actor: 'test' });
    await vault.set('project/app/api_key', 'dev', 'v1-value', {
      description: 'Stripe API key for payment processing',
    });
    expect((await vault.get('project/app/api_key', 'dev')).value).toBe('v1-value');
    // The intruder's edit through its own connection, while the vault stays open.
    const other = new BetterSqlite3(file);
    other
      .prepare("UPDATE secrets SET description = 'changed' WHERE path = ?")
      .run('project/app/api_key');
    other.close();
    const err = await vault.get('project/app/api_key', 'dev').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('INTEGRITY_FAILURE');
    await storage.close();
  });

  it('forgets what a transaction wrote when it rolls back', async () => {
    const storage = openSqliteStorage(file, { create: true });
    await storage.transaction('write', (tx) => tx.setMeta('k', 'kept'));
    await expect(
      storage.transaction('write', async (tx) => {
        await tx.setMeta('k', 'rolled back');
        await tx.insertSecret(secret('project/app/x', 'rolled back'));
        expect(await tx.getMeta('k')).toBe('rolled back');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await storage.transaction('read', async (tx) => {
      expect(await tx.getMeta('k')).toBe('kept');
      expect(await tx.getSecret('project/app/x', 'dev')).toBeUndefined();
    });
    await storage.close();
  });

  it('property: every read equals what a second, uncached connection reads', async () => {
    type Op =
      | { kind: 'meta'; key: string; value: string }
      | { kind: 'secret'; path: string; description: string; update: boolean }
      | { kind: 'external'; key: string; value: string; path: string }
      | { kind: 'rollback'; key: string; value: string }
      | { kind: 'audit'; n: number };
    const keyArb = fc.constantFrom('a', 'b', 'c');
    const pathArb = fc.constantFrom('project/app/one', 'project/app/two');
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('meta' as const), key: keyArb, value: fc.string() }),
      fc.record({
        kind: fc.constant('secret' as const),
        path: pathArb,
        description: fc.string({ minLength: 1 }),
        update: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('external' as const),
        key: keyArb,
        value: fc.string(),
        path: pathArb,
      }),
      fc.record({ kind: fc.constant('rollback' as const), key: keyArb, value: fc.string() }),
      fc.record({ kind: fc.constant('audit' as const), n: fc.integer({ min: 1, max: 3 }) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const f = join(dir, `model-${run++}.db`);
        const storage: SqliteStorage = openSqliteStorage(f, { create: true });
        const raw = new BetterSqlite3(f);
        let seq = 0;
        try {
          for (const o of ops) {
            if (o.kind === 'meta') {
              await storage.transaction('write', (tx) => tx.setMeta(o.key, o.value));
            } else if (o.kind === 'secret') {
              await storage.transaction('write', async (tx) => {
                const had = await tx.getSecret(o.path, 'dev');
                if (had === undefined) await tx.insertSecret(secret(o.path, o.description));
                else await tx.updateSecret(o.path, 'dev', { description: o.description });
              });
            } else if (o.kind === 'external') {
              raw
                .prepare(
                  'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
                )
                .run(o.key, o.value);
              raw
                .prepare('UPDATE secrets SET description = ? WHERE path = ?')
                .run(o.value || 'x', o.path);
              raw.prepare('DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)').run();
            } else if (o.kind === 'rollback') {
              await storage
                .transaction('write', async (tx) => {
                  await tx.setMeta(o.key, o.value);
                  throw new Error('abort');
                })
                .catch(() => undefined);
            } else {
              await storage.transaction('write', async (tx) => {
                for (let i = 0; i < o.n; i++) {
                  seq = Math.max(seq, (await tx.lastAudit())?.seq ?? 0) + 1;
                  await tx.appendAudit({
                    seq,
                    ts: T0,
                    actor: 'test',
                    action: 'get',
                    path: null,
                    env: null,
                    version: null,
                    outcome: 'ok',
                    detail: null,
                    prevHash: 'p',
                    hash: `h${seq}`,
                  });
                }
              });
            }
            // After each step, every cached read agrees with the file.
            await storage.transaction('read', async (tx) => {
              for (const k of ['a', 'b', 'c']) {
                const row = raw.prepare('SELECT value FROM meta WHERE key = ?').get(k) as
                  | { value: string }
                  | undefined;
                expect(await tx.getMeta(k)).toBe(row?.value);
              }
              for (const p of ['project/app/one', 'project/app/two']) {
                const row = raw.prepare('SELECT description FROM secrets WHERE path = ?').get(p) as
                  | { description: string }
                  | undefined;
                expect((await tx.getSecret(p, 'dev'))?.description).toBe(row?.description);
              }
              const last = raw.prepare('SELECT seq FROM audit ORDER BY seq DESC LIMIT 1').get() as
                | { seq: number }
                | undefined;
              expect((await tx.lastAudit())?.seq).toBe(last?.seq);
            });
          }
        } finally {
          raw.close();
          await storage.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
