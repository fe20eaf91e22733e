/**
 * rewrapRows over an in-memory table: counts, failures by row id, dry runs, plaintext
 * migration, rows the application changes during the walk, and resuming after a crash.
 * The SQL adapters are tested in sql-adapters.test.ts, the CLI in test/e2e/envelope-rewrap.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../../../test/helpers/rewrap-adapter.js';
import { decryptJsonBlob, encryptJsonBlob, envelopeKeyId } from './json-blob.js';
import { createKeyring } from './keyring.js';
import { rewrapRows } from './rewrap.js';
import { rowContext } from './row-context.js';

const k1 = new Uint8Array(randomBytes(32));
const k2 = new Uint8Array(randomBytes(32));
const old = createKeyring([{ id: 'k1', key: k1 }]);
const both = createKeyring([
  { id: 'k2', key: k2 },
  { id: 'k1', key: k1 },
]);
const only2 = createKeyring([{ id: 'k2', key: k2 }]);
const context = (id: unknown) => rowContext('external_accounts', 'access_token', String(id));
const seal = (value: unknown, id: number, ring = old) =>
  encryptJsonBlob(value, ring, { context: context(id) });

describe('rewrapRows', () => {
  it('moves every row to the primary key and keeps every value (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.jsonValue({ maxDepth: 2 }), fc.boolean()), { maxLength: 30 }),
        fc.integer({ min: 1, max: 7 }),
        async (cells, batchSize) => {
          const rows = cells.map(([v, onNew], i) => ({
            id: i + 1,
            value: seal(v, i + 1, onNew ? both : old),
          }));
          const adapter = memoryAdapter(rows);
          const r = await rewrapRows(adapter, both, { context, batchSize });
          expect(r.failures).toEqual([]);
          expect(r.rewrapped).toBe(cells.filter(([, onNew]) => !onNew).length);
          expect(r.alreadyCurrent).toBe(cells.filter(([, onNew]) => onNew).length);
          expect(r.scanned).toBe(cells.length);
          cells.forEach(([v], i) => {
            const stored = adapter.rows.get(i + 1);
            expect(envelopeKeyId(stored)).toBe('k2');
            expect(decryptJsonBlob(stored, only2, { context: context(i + 1) })).toEqual(
              JSON.parse(JSON.stringify(v)),
            );
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reports failures by row id and goes on; NULL rows are left alone', async () => {
    const tampered = seal({ t: 'x' }, 4).replace(
      /"ct":"./,
      (m) => `${m.slice(0, -1)}${m.endsWith('A') ? 'B' : 'A'}`,
    );
    const stranger = createKeyring([{ id: 'k0', key: new Uint8Array(randomBytes(32)) }]);
    const adapter = memoryAdapter([
      { id: 1, value: seal({ t: 1 }, 1) },
      { id: 2, value: null },
      { id: 3, value: seal({ t: 3 }, 3, stranger) },
      { id: 4, value: tampered },
      { id: 5, value: '{"access_token":"legacy"}' },
      { id: 6, value: seal({ t: 6 }, 99) },
      { id: 7, value: seal({ t: 7 }, 7, both) },
    ]);
    const r = await rewrapRows(adapter, both, { context, batchSize: 3 });
    expect(r).toMatchObject({
      primary: 'k2',
      scanned: 7,
      rewrapped: 1,
      alreadyCurrent: 1,
      empty: 1,
    });
    expect(r.failures.map((f) => [f.id, f.code])).toEqual([
      ['3', 'KEY_NOT_FOUND'],
      ['4', 'INTEGRITY_FAILURE'],
      ['5', 'PLAINTEXT_REFUSED'],
      ['6', 'INTEGRITY_FAILURE'],
    ]);
    expect(r.failures[0]!.message).toBe(
      'no key in the keyring has id k0 (was the key rotated away?)',
    );
    // Each failure names the context its row was opened with.
    expect(r.failures.map((f) => f.context)).toEqual(
      [3, 4, 5, 6].map((id) => `external_accounts/access_token/${id}`),
    );
    expect(adapter.rows.get(4)).toBe(tampered); // failed rows are not touched
    expect(adapter.rows.get(2)).toBeNull();
  });

  it('encrypts legacy plaintext rows only when allowed', async () => {
    const adapter = memoryAdapter([
      { id: 1, value: '{"access_token":"legacy"}' },
      { id: 2, value: 'ya29.raw-token' },
    ]);
    const r = await rewrapRows(adapter, both, { context, allowPlaintext: true });
    expect(r.plaintextEncrypted).toBe(2);
    expect(r.failures).toEqual([]);
    expect(decryptJsonBlob(adapter.rows.get(1), only2, { context: context(1) })).toEqual({
      access_token: 'legacy',
    });
    expect(decryptJsonBlob(adapter.rows.get(2), only2, { context: context(2) })).toBe(
      'ya29.raw-token',
    );
  });

  it('a legacy row too large for an envelope fails alone; the rows around it are rewrapped', async () => {
    const big = 'x'.repeat(1 << 20);
    const adapter = memoryAdapter([
      { id: 1, value: '{"a":1}' },
      { id: 2, value: big },
      { id: 3, value: '{"a":3}' },
    ]);
    const r = await rewrapRows(adapter, both, { context, allowPlaintext: true, batchSize: 3 });
    expect(r.plaintextEncrypted).toBe(2);
    expect(r.failures).toMatchObject([{ id: '2', code: 'INVALID_ARGUMENT' }]);
    expect(JSON.stringify(r.failures)).not.toContain(big.slice(0, 100));
    expect(adapter.rows.get(2)).toBe(big);
    expect(decryptJsonBlob(adapter.rows.get(3), only2, { context: context(3) })).toEqual({ a: 3 });
  });

  it('a dry run opens and verifies every row but writes nothing', async () => {
    const rows = [1, 2, 3].map((id) => ({ id, value: seal({ id }, id) }));
    const adapter = memoryAdapter(rows);
    const r = await rewrapRows(adapter, both, { context, dryRun: true, batchSize: 2 });
    expect(r).toMatchObject({ dryRun: true, rewrapped: 3, failures: [] });
    expect(adapter.writes).toBe(0);
    expect([...adapter.rows.values()]).toEqual(rows.map((row) => row.value));
  });

  it('never overwrites a row the application changed meanwhile', async () => {
    const rows = [1, 2, 3, 4].map((id) => ({ id, value: seal({ v: 'old' }, id) }));
    let round = 0;
    const adapter = memoryAdapter(rows, (live) => {
      round++;
      if (round === 1) {
        live.set(2, seal({ v: 'app wrote k2' }, 2, both)); // the app, on the new key
        live.set(3, seal({ v: 'app wrote k1' }, 3)); // an app instance still on the old key
      }
    });
    const r = await rewrapRows(adapter, both, { context });
    expect(r.failures).toEqual([]);
    const value = (id: number) =>
      decryptJsonBlob(adapter.rows.get(id), only2, { context: context(id) });
    expect([value(1), value(2), value(3), value(4)]).toEqual([
      { v: 'old' },
      { v: 'app wrote k2' },
      { v: 'app wrote k1' },
      { v: 'old' },
    ]);
    expect(r.rewrapped + r.alreadyCurrent).toBe(4);
  });

  it('resumes after a crash: a second run finishes and skips the rows already done', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ id: i + 1, value: seal({ i }, i + 1) }));
    const adapter = memoryAdapter(rows);
    const write = adapter.writeBatch;
    let writes = 0;
    adapter.writeBatch = async (updates) => {
      if (++writes === 3) throw new Error('simulated crash');
      return write(updates);
    };
    await expect(rewrapRows(adapter, both, { context, batchSize: 10 })).rejects.toThrow(
      'simulated crash',
    );
    adapter.writeBatch = write;
    const r = await rewrapRows(adapter, both, { context, batchSize: 10 });
    expect(r).toMatchObject({ alreadyCurrent: 20, rewrapped: 30, failures: [] });
    for (const row of rows) expect(envelopeKeyId(adapter.rows.get(row.id))).toBe('k2');
  });

  it('needs a primary key and a sane batch size', async () => {
    const adapter = memoryAdapter([]);
    await expect(rewrapRows(adapter, createKeyring([]), { context })).rejects.toMatchObject({
      code: 'DATA_KEY_MISSING',
    });
    await expect(rewrapRows(adapter, both, { context, batchSize: 0 })).rejects.toThrow(RangeError);
  });

  it('reports progress after each batch', async () => {
    const adapter = memoryAdapter(
      Array.from({ length: 5 }, (_, i) => ({ id: i + 1, value: null })),
    );
    const seen: Array<[number, number | undefined]> = [];
    await rewrapRows(adapter, both, {
      context,
      batchSize: 2,
      onProgress: (p) => seen.push([p.done, p.total]),
    });
    expect(seen).toEqual([
      [2, 5],
      [4, 5],
      [5, 5],
    ]);
  });
});
