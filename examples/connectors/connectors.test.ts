/**
 * The connectors example end to end, on the built `coffer/envelope`: a key rotation while
 * the service keeps reading and writing accounts, ending with every row readable under the
 * new key only; and legacy plaintext rows read in migration mode, then encrypted.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  envelopeKeyId,
  keyringFromEnv,
  type RewrapAdapter,
  rewrapRows,
  rowContext,
  sqliteRewrapAdapter,
} from 'coffer/envelope';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectorsService, migrate, type Tokens } from './connectors-service.js';

const dir = mkdtempSync(join(tmpdir(), 'coffer-connectors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const tokens = (n: number): Tokens => ({
  access_token: `gho_${n}_${randomBytes(6).toString('hex')}`,
  refresh_token: `ghr_${n}`,
  token_type: 'bearer',
  expires_in: 28800,
  scope: 'repo',
});
const turn = () => new Promise<void>((r) => setImmediate(r));

/**
 * The rewrap job's adapter, yielding to the app's event loop before every database call, and
 * telling the app which rows it has read but not yet written (`inFlight`), so that the app's
 * writes land exactly in that window at least once per batch.
 */
function interleaved(adapter: RewrapAdapter, inFlight: number[]): RewrapAdapter {
  return {
    count: async () => adapter.count!(),
    readBatch: async (after, limit) => {
      await turn();
      const rows = await adapter.readBatch(after, limit);
      inFlight.splice(0, inFlight.length, ...rows.map((r) => Number(r.id)));
      return rows;
    },
    readRow: async (id) => {
      await turn();
      return adapter.readRow(id);
    },
    writeBatch: async (updates) => {
      await turn();
      return adapter.writeBatch(updates);
    },
  };
}

describe('connectors example', () => {
  it('rotates the key while reads and writes continue; ends on the new key only', async () => {
    const file = join(dir, 'rotate.db');
    const db = new Database(file);
    migrate(db);
    const service = new ConnectorsService(db, keyringFromEnv({ COFFER_DATA_KEYS: `k1:${K1}` }));
    const expected = new Map<number, Tokens>();
    for (let i = 0; i < 400; i++) {
      const t = tokens(i);
      expected.set(service.createAccount(`user-${i}`, 'github', t), t);
    }

    // Step 1: deploy the new key first, the old one second. New writes use k2, old rows open.
    const both = keyringFromEnv({ COFFER_DATA_KEYS: `k2:${K2},k1:${K1}` });
    service.setKeyring(both);

    // Step 2: the background job re-wraps every row while the app keeps working.
    const inFlight: number[] = [];
    let running = true;
    let reads = 0;
    let writes = 0;
    const traffic = (async () => {
      for (let n = 0; running; n++) {
        const ids = [...expected.keys()];
        const id = ids[(n * 7919) % ids.length]!;
        expect(service.getAccountTokens(id)).toEqual(expected.get(id));
        reads++;
        // A token refresh: of an account the job is handling right now, when there is one.
        const refreshed = inFlight.pop() ?? (n % 3 === 0 ? id : undefined);
        if (refreshed !== undefined) {
          const t = tokens(10_000 + n);
          service.updateAccountTokens(refreshed, t);
          expected.set(refreshed, t);
          writes++;
        }
        if (n % 50 === 0) {
          const t = tokens(20_000 + n);
          expected.set(service.createAccount(`user-new-${n}`, 'google', t), t);
          writes++;
        }
        await turn();
      }
    })();
    const worker = new Database(file); // the job's own connection, as a separate process would
    const ref = { table: 'external_accounts', column: 'access_token', idColumn: 'id' };
    const result = await rewrapRows(interleaved(sqliteRewrapAdapter(worker, ref), inFlight), both, {
      context: (id) => rowContext(ref.table, ref.column, id),
      batchSize: 20,
    });
    running = false;
    await traffic;
    worker.close();
    expect(result.failures).toEqual([]);
    expect(reads).toBeGreaterThan(20);
    expect(writes).toBeGreaterThan(10);
    expect(result.retried).toBeGreaterThan(0); // the app did change rows under the job

    // Step 3: remove the old key. Every row must still open.
    service.setKeyring(keyringFromEnv({ COFFER_DATA_KEYS: `k2:${K2}` }));
    for (const [id, t] of expected) expect(service.getAccountTokens(id)).toEqual(t);
    const stored = db.prepare('SELECT access_token FROM external_accounts').all() as Array<{
      access_token: string;
    }>;
    expect(stored).toHaveLength(expected.size);
    for (const row of stored) expect(envelopeKeyId(row.access_token)).toBe('k2');
    // The plaintext tokens, not a prefix: a ciphertext may hold "gho_" by chance.
    const storedText = JSON.stringify(stored);
    for (const t of expected.values()) expect(storedText).not.toContain(t.access_token);
    db.close();
  });

  it('reads legacy plaintext rows only in migration mode, and encrypts them on update', () => {
    const db = new Database(join(dir, 'legacy.db'));
    migrate(db);
    db.prepare(
      "INSERT INTO external_accounts VALUES (1, 'user-1', 'github', 'gho_legacy', 'ghr_legacy', datetime('now'))",
    ).run();
    const keyring = keyringFromEnv({ COFFER_DATA_KEYS: `k1:${K1}` });
    expect(() => new ConnectorsService(db, keyring).getAccountTokens(1)).toThrow(
      'not a coffer envelope',
    );
    const seen: number[] = [];
    const service = new ConnectorsService(db, keyring, {
      readLegacyPlaintext: true,
      onPlaintext: (id) => seen.push(id),
    });
    const legacy = service.getAccountTokens(1);
    expect(legacy).toEqual({ access_token: 'gho_legacy', refresh_token: 'ghr_legacy' });
    expect(seen).toEqual([1]);
    service.updateAccountTokens(1, { ...legacy, expires_in: 3600 });
    const row = db.prepare('SELECT * FROM external_accounts WHERE id = 1').get() as Record<
      string,
      unknown
    >;
    expect(envelopeKeyId(row.access_token)).toBe('k1');
    expect(row.refresh_token).toBeNull();
    expect(service.getAccountTokens(1).refresh_token).toBe('ghr_legacy');
    expect(seen).toEqual([1]);
    db.close();
  });

  it('encryptLegacyRows moves every plaintext row into an envelope, once', () => {
    const db = new Database(join(dir, 'legacy-all.db'));
    migrate(db);
    const insert = db.prepare(
      "INSERT INTO external_accounts VALUES (?, ?, 'github', ?, ?, datetime('now'))",
    );
    insert.run(1, 'user-1', 'gho_one', 'ghr_one');
    insert.run(2, 'user-2', '{"access_token":"gho_two","scope":"repo"}', null);
    const keyring = keyringFromEnv({ COFFER_DATA_KEYS: `k1:${K1}` });
    const seen: number[] = [];
    const service = new ConnectorsService(db, keyring, {
      readLegacyPlaintext: true,
      onPlaintext: (id) => seen.push(id),
    });
    const fresh = tokens(3);
    const id3 = service.createAccount('user-3', 'google', fresh);
    expect(service.encryptLegacyRows()).toBe(2);
    expect(seen).toEqual([1, 2]);
    expect(service.encryptLegacyRows()).toBe(0);
    const rows = db
      .prepare('SELECT id, access_token, refresh_token FROM external_accounts ORDER BY id')
      .all() as Array<{ id: number; access_token: string; refresh_token: string | null }>;
    expect(rows.map((r) => [envelopeKeyId(r.access_token), r.refresh_token])).toEqual([
      ['k1', null],
      ['k1', null],
      ['k1', null],
    ]);
    for (const plain of ['gho_one', 'ghr_one', 'gho_two']) {
      expect(JSON.stringify(rows)).not.toContain(plain);
    }
    // Without migration mode every row now reads, with the values it had.
    const strict = new ConnectorsService(db, keyring);
    expect(strict.getAccountTokens(1)).toEqual({
      access_token: 'gho_one',
      refresh_token: 'ghr_one',
    });
    expect(strict.getAccountTokens(2)).toEqual({ access_token: 'gho_two', scope: 'repo' });
    expect(strict.getAccountTokens(id3)).toEqual(fresh);
    db.close();
  });

  it('reads a row whose access_token column alone was encrypted (rewrap --allow-plaintext)', async () => {
    const db = new Database(join(dir, 'column.db'));
    migrate(db);
    db.prepare(
      "INSERT INTO external_accounts VALUES (7, 'user-7', 'github', 'gho_col', 'ghr_col', datetime('now'))",
    ).run();
    const keyring = keyringFromEnv({ COFFER_DATA_KEYS: `k1:${K1}` });
    const ref = { table: 'external_accounts', column: 'access_token', idColumn: 'id' };
    const result = await rewrapRows(sqliteRewrapAdapter(db, ref), keyring, {
      context: (id) => rowContext(ref.table, ref.column, id),
      allowPlaintext: true,
    });
    expect(result.plaintextEncrypted).toBe(1);
    expect(new ConnectorsService(db, keyring).getAccountTokens(7)).toEqual({
      access_token: 'gho_col',
      refresh_token: 'ghr_col',
    });
    db.close();
  });
});
