/**
 * The storage contract (src/core/store/storage.ts), written once and run for every backend,
 * as kysely loops its tests over a list of dialects. Nothing here knows SQL: every check
 * goes through `Storage` / `StorageTx`, so a new backend passes by behaving, not by having
 * the same schema.
 *
 * A backend's test file calls `describeStorageContract(name, factory)`. The factory makes a
 * fresh, empty store for each test; `cleanup` closes everything the factory opened
 * (including storages returned by `openSecond`) and deletes the store.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainAuditRecord } from '../src/core/audit/chain.js';
import type {
  AuditEntry,
  AuditRecord,
  KekRecord,
  SecretRecord,
  Storage,
  StorageTx,
  TokenRecord,
  VersionRecord,
} from '../src/core/store/storage.js';
import { secretRecord } from './helpers/records.js';

export interface StorageUnderTest {
  /** A fresh, empty store. */
  storage: Storage;
  /** Closes every storage the factory opened and removes the store. */
  cleanup(): Promise<void>;
  /**
   * Another connection or instance on the same store (another process's view of it).
   * Optional: backends that cannot open one skip the cross-connection tests.
   */
  openSecond?(): Promise<Storage>;
}

export type StorageFactory = () => Promise<StorageUnderTest>;

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

const T0 = '2025-01-01T00:00:00.000Z';
const T1 = '2025-02-01T00:00:00.000Z';
const T2 = '2025-03-01T00:00:00.000Z';

const bytesOf = (...values: number[]): Uint8Array => Uint8Array.from(values);
const hex = (b: Uint8Array | null | undefined): string | null | undefined =>
  b === null || b === undefined ? b : Buffer.from(b).toString('hex');

function kek(id: string, over: Partial<KekRecord> = {}): KekRecord {
  return {
    id,
    sealed: bytesOf(1, 2, 3, 0, 4),
    status: 'primary',
    createdAt: T0,
    retiredAt: null,
    mac: null,
    ...over,
  };
}

const secret = secretRecord;

function version(
  path: string,
  env: string,
  v: number,
  over: Partial<VersionRecord> = {},
): VersionRecord {
  return {
    path,
    env,
    version: v,
    kekId: 'kek-1',
    wrappedDek: bytesOf(0xd0, v, 0, 0xff),
    ciphertext: bytesOf(0xc0, v, 0, 0, 0xee),
    createdAt: T0,
    actor: 'test:user',
    ...over,
  };
}

/** `n` correctly chained audit records after `after` (or from the start of the log). */
function auditRecords(
  n: number,
  entry: (i: number) => Partial<AuditEntry> = () => ({}),
  after?: Pick<AuditRecord, 'seq' | 'hash'>,
): AuditRecord[] {
  const out: AuditRecord[] = [];
  let last = after as AuditRecord | undefined;
  for (let i = 0; i < n; i++) {
    last = chainAuditRecord(last, {
      ts: new Date(Date.parse(T0) + i * 1000).toISOString(),
      actor: 'test:user',
      action: 'set',
      path: null,
      env: null,
      version: null,
      outcome: 'ok',
      detail: null,
      ...entry(i),
    });
    out.push(last);
  }
  return out;
}

/** Records with their bytes as hex, so that toEqual compares contents and shows diffs. */
const plainKek = (k: KekRecord | undefined) =>
  k && { ...k, sealed: hex(k.sealed), mac: hex(k.mac) };
/** A row MAC's worth of bytes (32, with a 0x00 inside). */
const MAC = (seed: number): Uint8Array =>
  Uint8Array.from({ length: 32 }, (_, i) => (seed + i * 7) & 0xff);
const plainVersion = (v: VersionRecord | undefined) =>
  v && { ...v, wrappedDek: hex(v.wrappedDek), ciphertext: hex(v.ciphertext) };

function expectBytes(actual: Uint8Array | null | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual!.length).toBe(expected.length);
  expect(hex(actual)).toBe(hex(expected));
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const pathsOf = (rows: SecretRecord[]) => rows.map((r) => `${r.path}@${r.env}`).sort();

/** Everything the API can see of a store, for "nothing changed" comparisons. */
async function snapshot(
  tx: StorageTx,
  metaKeys: readonly string[],
  slots: readonly (readonly [string, string])[],
) {
  const meta: Record<string, string | undefined> = {};
  for (const k of metaKeys) meta[k] = await tx.getMeta(k);
  const versions = [];
  for (const [path, env] of slots) {
    versions.push(...(await tx.listVersions(path, env)).map(plainVersion));
  }
  const secrets = [];
  for (const [path, env] of slots) secrets.push(await tx.getSecret(path, env));
  return {
    meta,
    keks: (await tx.listKeks()).sort(byId).map(plainKek),
    secrets,
    allSecrets: await tx.listSecrets({ includeDeleted: true }),
    versions,
    counts: [...(await tx.countWrappedKeys())].sort(),
    audit: await tx.listAudit({}),
    lastAudit: await tx.lastAudit(),
  };
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Strings that trip up encodings, collations and C string handling. */
const EDGE_TEXTS: readonly string[] = [
  '',
  ' ',
  'trailing space ',
  'a\u0000b',
  '\u0000',
  'caf\u00e9',
  'cafe\u0301',
  '\ufeffBOM first',
  '\uffff\ufffe',
  '\u{10ffff}\u{1f511}\u{1f5dd}\ufe0f',
  '\u202eRTL override',
  'line1\r\nline2\ttab\u2028sep',
  'quote \' and " and \\ and %_',
  '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}',
  'x'.repeat(70_000),
];

const COUNTER = 'counter';

/** One read-modify-write of the counter in meta, with a yield in the middle. */
function increment(s: Storage, yieldNow: () => Promise<unknown>): Promise<void> {
  return s.transaction('write', async (tx) => {
    const n = Number((await tx.getMeta(COUNTER)) ?? '0');
    await yieldNow();
    await tx.setMeta(COUNTER, String(n + 1));
  });
}

// ---------------------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------------------

export function describeStorageContract(name: string, factory: StorageFactory): void {
  describe(`storage contract: ${name}`, () => {
    let sut: StorageUnderTest;
    let storage: Storage;

    beforeEach(async () => {
      sut = await factory();
      storage = sut.storage;
    });

    afterEach(async () => {
      await sut.cleanup();
    });

    const write = <T>(fn: (tx: StorageTx) => Promise<T>): Promise<T> =>
      storage.transaction('write', fn);
    const read = <T>(fn: (tx: StorageTx) => Promise<T>): Promise<T> =>
      storage.transaction('read', fn);

    describe('meta', () => {
      it('returns undefined for a missing key', async () => {
        expect(await read((tx) => tx.getMeta('nope'))).toBeUndefined();
      });

      it('sets, gets and overwrites values; keys are independent', async () => {
        await write(async (tx) => {
          await tx.setMeta('a', 'one');
          await tx.setMeta('b', 'two');
        });
        expect(await read((tx) => tx.getMeta('a'))).toBe('one');
        await write((tx) => tx.setMeta('a', 'uno'));
        await read(async (tx) => {
          expect(await tx.getMeta('a')).toBe('uno');
          expect(await tx.getMeta('b')).toBe('two');
        });
      });

      it('lists every entry by key', async () => {
        await write(async (tx) => {
          await tx.setMeta('b', 'two');
          await tx.setMeta('a', 'one\u0000x');
        });
        const entries = await read((tx) => tx.listMeta());
        expect(entries.filter((m) => m.key === 'a' || m.key === 'b')).toEqual([
          { key: 'a', value: 'one\u0000x' },
          { key: 'b', value: 'two' },
        ]);
      });

      it('lists the entries under a prefix: exactly the keys that start with it (property)', async () => {
        const char = fc.constantFrom('a', 'b', '_', '%', ':', '\u0000', '\u0001', 'é', '😀');
        const key = fc.array(char, { maxLength: 4 }).map((cs) => cs.join(''));
        let round = 0;
        await fc.assert(
          fc.asyncProperty(fc.uniqueArray(key, { maxLength: 8 }), key, async (keys, tail) => {
            const ns = `prefix-${round++}/`;
            await write(async (tx) => {
              for (const k of keys) await tx.setMeta(ns + k, `v:${k}`);
            });
            const prefix = ns + tail;
            const got = await read((tx) => tx.listMeta(prefix));
            const want = keys
              .map((k) => ns + k)
              .filter((k) => k.startsWith(prefix))
              .map((k) => ({ key: k, value: `v:${k.slice(ns.length)}` }));
            const byKey = (a: { key: string }, b: { key: string }) =>
              a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
            expect(got.sort(byKey)).toEqual(want.sort(byKey));
          }),
          { numRuns: 40 },
        );
      });

      it('lists at most `limit` entries under a prefix, the first in byte order of their keys', async () => {
        await write(async (tx) => {
          for (const k of ['due:0000000003:c', 'due:0000000001:a', 'due:0000000002:b', 'dux'])
            await tx.setMeta(k, `v:${k}`);
        });
        const keys = async (limit: number) =>
          (await read((tx) => tx.listMeta('due:', limit))).map((m) => m.key);
        expect(await keys(2)).toEqual(['due:0000000001:a', 'due:0000000002:b']);
        expect(await keys(10)).toEqual([
          'due:0000000001:a',
          'due:0000000002:b',
          'due:0000000003:c',
        ]);
        await expect(read((tx) => tx.listMeta('due:', 0))).rejects.toThrow(RangeError);
      });

      it('deletes an entry; deleting a missing one does nothing', async () => {
        await write(async (tx) => {
          await tx.setMeta('gone', 'x');
          await tx.setMeta('kept', 'y');
        });
        await write(async (tx) => {
          await tx.deleteMeta('gone');
          await tx.deleteMeta('never-there');
        });
        await read(async (tx) => {
          expect(await tx.getMeta('gone')).toBeUndefined();
          expect(await tx.getMeta('kept')).toBe('y');
        });
      });

      it('keeps an empty string value (not undefined)', async () => {
        await write((tx) => tx.setMeta('empty', ''));
        expect(await read((tx) => tx.getMeta('empty'))).toBe('');
      });

      it('treats keys that differ only in case, normalisation or trailing space as distinct', async () => {
        const keys = ['Key', 'key', 'caf\u00e9', 'cafe\u0301', 'k', 'k '];
        await write(async (tx) => {
          for (const [i, k] of keys.entries()) await tx.setMeta(k, `v${i}`);
        });
        await read(async (tx) => {
          for (const [i, k] of keys.entries()) expect(await tx.getMeta(k), k).toBe(`v${i}`);
        });
      });
    });

    describe('keks', () => {
      it('inserts and gets a KEK with every field; unknown ids are undefined', async () => {
        const k = kek('kek-1', { sealed: bytesOf(0, 0, 9, 0), createdAt: T1 });
        await write((tx) => tx.insertKek(k));
        await read(async (tx) => {
          expect(plainKek(await tx.getKek('kek-1'))).toEqual(plainKek(k));
          expect(await tx.getKek('kek-2')).toBeUndefined();
        });
      });

      it('lists every KEK', async () => {
        const keks = [
          kek('kek-b', { createdAt: T1, status: 'retiring' }),
          kek('kek-a', { createdAt: T0, status: 'retired', sealed: null, retiredAt: T2 }),
          kek('kek-c', { createdAt: T2 }),
        ];
        expect(await read((tx) => tx.listKeks())).toEqual([]);
        await write(async (tx) => {
          for (const k of keks) await tx.insertKek(k);
        });
        const listed = await read((tx) => tx.listKeks());
        expect(listed.sort(byId).map(plainKek)).toEqual([...keks].sort(byId).map(plainKek));
      });

      it('rejects a second KEK with the same id', async () => {
        await write((tx) => tx.insertKek(kek('kek-1')));
        await expect(
          write((tx) => tx.insertKek(kek('kek-1', { status: 'retiring' }))),
        ).rejects.toThrow();
        expect((await read((tx) => tx.getKek('kek-1')))?.status).toBe('primary');
      });

      it('updates status alone, leaving the other fields', async () => {
        const k = kek('kek-1');
        await write((tx) => tx.insertKek(k));
        await write((tx) => tx.updateKek('kek-1', { status: 'retiring' }));
        expect(plainKek(await read((tx) => tx.getKek('kek-1')))).toEqual(
          plainKek({ ...k, status: 'retiring' }),
        );
      });

      it('retires a KEK: sealed becomes null, retiredAt is set', async () => {
        await write(async (tx) => {
          await tx.insertKek(kek('kek-1', { status: 'retiring' }));
          await tx.insertKek(kek('kek-2'));
        });
        await write((tx) =>
          tx.updateKek('kek-1', { status: 'retired', sealed: null, retiredAt: T2 }),
        );
        await read(async (tx) => {
          const k1 = await tx.getKek('kek-1');
          expect(k1?.status).toBe('retired');
          expect(k1?.sealed).toBeNull();
          expect(k1?.retiredAt).toBe(T2);
          expect(k1?.createdAt).toBe(T0);
          expect(plainKek(await tx.getKek('kek-2'))).toEqual(plainKek(kek('kek-2')));
        });
      });

      it('replaces sealed bytes and clears retiredAt', async () => {
        await write((tx) => tx.insertKek(kek('kek-1', { retiredAt: T1 })));
        const resealed = bytesOf(0, 7, 7, 0, 0);
        await write((tx) => tx.updateKek('kek-1', { sealed: resealed, retiredAt: null }));
        const k = await read((tx) => tx.getKek('kek-1'));
        expectBytes(k?.sealed, resealed);
        expect(k?.retiredAt).toBeNull();
        expect(k?.status).toBe('primary');
      });

      it('updating an unknown KEK creates nothing', async () => {
        await write((tx) => tx.updateKek('ghost', { status: 'retired' }));
        await read(async (tx) => {
          expect(await tx.getKek('ghost')).toBeUndefined();
          expect(await tx.listKeks()).toEqual([]);
        });
      });
    });

    describe('secrets', () => {
      const P = 'project/app/api_key';

      it('inserts and gets a secret with every field set', async () => {
        const s = secret(P, 'prod', {
          description: 'Stripe key for payments',
          currentVersion: 7,
          tier: 2,
          rotation: '90d',
          envVar: 'STRIPE_KEY',
          localOnly: true,
          generator: 'token:32',
          createdAt: T0,
          updatedAt: T1,
          deletedAt: T2,
        });
        await write((tx) => tx.insertSecret(s));
        expect(await read((tx) => tx.getSecret(P, 'prod'))).toEqual(s);
      });

      it('inserts and gets a secret with every nullable field null', async () => {
        const s = secret(P, 'dev');
        await write((tx) => tx.insertSecret(s));
        const got = await read((tx) => tx.getSecret(P, 'dev'));
        expect(got).toEqual(s);
        expect(got?.localOnly).toBe(false);
        expect(got?.tier).toBeNull();
      });

      it('keys secrets by (path, env)', async () => {
        await write(async (tx) => {
          await tx.insertSecret(secret(P, 'dev', { description: 'dev one' }));
          await tx.insertSecret(secret(P, 'prod', { description: 'prod one' }));
        });
        await read(async (tx) => {
          expect((await tx.getSecret(P, 'dev'))?.description).toBe('dev one');
          expect((await tx.getSecret(P, 'prod'))?.description).toBe('prod one');
          expect(await tx.getSecret(P, 'staging')).toBeUndefined();
          expect(await tx.getSecret('project/app/other', 'dev')).toBeUndefined();
        });
      });

      it('rejects a second secret with the same (path, env)', async () => {
        await write((tx) => tx.insertSecret(secret(P, 'dev')));
        await expect(
          write((tx) => tx.insertSecret(secret(P, 'dev', { description: 'again' }))),
        ).rejects.toThrow();
        expect((await read((tx) => tx.getSecret(P, 'dev')))?.description).toBe(
          secret(P, 'dev').description,
        );
      });

      it('applies partial patches and leaves every other field alone', async () => {
        const base = secret(P, 'dev', { tier: 1, rotation: '30d', envVar: 'API_KEY' });
        const other = secret(P, 'prod');
        await write(async (tx) => {
          await tx.insertSecret(base);
          await tx.insertSecret(other);
        });
        let expected: SecretRecord = base;
        const patches: Parameters<StorageTx['updateSecret']>[2][] = [
          { description: 'changed description' },
          { localOnly: true },
          { tier: null },
          { tier: 3, rotation: null },
          { envVar: null, generator: 'password:24' },
          { currentVersion: 2, updatedAt: T1 },
          { deletedAt: T2, updatedAt: T2 },
          { localOnly: false },
          { deletedAt: null },
          { generator: null, envVar: 'NEW_NAME', localOnly: true },
          {},
        ];
        for (const patch of patches) {
          await write((tx) => tx.updateSecret(P, 'dev', patch));
          expected = { ...expected, ...patch };
          const got = await read((tx) => tx.getSecret(P, 'dev'));
          expect(got, JSON.stringify(patch)).toEqual(expected);
        }
        expect(await read((tx) => tx.getSecret(P, 'prod'))).toEqual(other);
      });

      it('updating an unknown secret creates nothing', async () => {
        await write((tx) => tx.updateSecret(P, 'dev', { description: 'x', currentVersion: 3 }));
        expect(await read((tx) => tx.getSecret(P, 'dev'))).toBeUndefined();
      });

      describe('listSecrets filters', () => {
        const rows: SecretRecord[] = [
          secret('project/a_b/k1', 'dev'),
          secret('project/a_b/k1', 'prod'),
          secret('project/a_b/k2', 'dev'),
          secret('project/a_b/gone', 'dev', { deletedAt: T1 }),
          secret('project/axb/k1', 'dev'),
          secret('project/a_bc/k1', 'dev'),
          secret('project/a/k1', 'dev'),
          secret('project/ab/k1', 'prod'),
          secret('projectx/a_b/k1', 'dev'),
          secret('meta/a_b/k1', 'dev'),
          secret('meta/stripe/key', 'prod', { deletedAt: T2 }),
        ];
        const expectRows = (filter: (r: SecretRecord) => boolean) => pathsOf(rows.filter(filter));
        const live = (r: SecretRecord) => r.deletedAt === null;

        beforeEach(async () => {
          await write(async (tx) => {
            for (const r of rows) await tx.insertSecret(r);
          });
        });

        it('no filter: every live secret; includeDeleted adds the deleted ones', async () => {
          expect(pathsOf(await read((tx) => tx.listSecrets({})))).toEqual(expectRows(live));
          expect(pathsOf(await read((tx) => tx.listSecrets({ includeDeleted: false })))).toEqual(
            expectRows(live),
          );
          expect(pathsOf(await read((tx) => tx.listSecrets({ includeDeleted: true })))).toEqual(
            expectRows(() => true),
          );
        });

        it('returns whole records', async () => {
          const all = await read((tx) => tx.listSecrets({ includeDeleted: true }));
          const sortKey = (r: SecretRecord) => `${r.path}@${r.env}`;
          const sorted = (xs: SecretRecord[]) =>
            [...xs].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
          expect(sorted(all)).toEqual(sorted(rows));
        });

        it('orders by path, then env', async () => {
          const got = (await read((tx) => tx.listSecrets({ includeDeleted: true }))).map(
            (r) => [r.path, r.env] as const,
          );
          const want = rows
            .map((r) => [r.path, r.env] as const)
            .sort((a, b) =>
              a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
            );
          expect(got).toEqual(want);
        });

        it('scope matches whole first segments only', async () => {
          expect(pathsOf(await read((tx) => tx.listSecrets({ scope: 'project' })))).toEqual(
            expectRows((r) => live(r) && r.path.startsWith('project/')),
          );
          expect(pathsOf(await read((tx) => tx.listSecrets({ scope: 'meta' })))).toEqual([
            'meta/a_b/k1@dev',
          ]);
          expect(await read((tx) => tx.listSecrets({ scope: 'proj' }))).toEqual([]);
        });

        it('group a_b matches neither axb nor a_bc (no LIKE wildcards, whole segments)', async () => {
          expect(
            pathsOf(await read((tx) => tx.listSecrets({ scope: 'project', group: 'a_b' }))),
          ).toEqual(['project/a_b/k1@dev', 'project/a_b/k1@prod', 'project/a_b/k2@dev']);
          expect(
            pathsOf(await read((tx) => tx.listSecrets({ scope: 'project', group: 'axb' }))),
          ).toEqual(['project/axb/k1@dev']);
          expect(
            pathsOf(await read((tx) => tx.listSecrets({ scope: 'project', group: 'a' }))),
          ).toEqual(['project/a/k1@dev']);
          expect(
            pathsOf(await read((tx) => tx.listSecrets({ scope: 'meta', group: 'a_b' }))),
          ).toEqual(['meta/a_b/k1@dev']);
        });

        it('group names with % or _ wildcards match nothing else', async () => {
          await read(async (tx) => {
            expect(await tx.listSecrets({ scope: 'project', group: '%' })).toEqual([]);
            expect(await tx.listSecrets({ scope: 'project', group: 'a%' })).toEqual([]);
            expect(await tx.listSecrets({ scope: 'project', group: '_' })).toEqual([]);
            expect(await tx.listSecrets({ scope: 'project', group: 'a_' })).toEqual([]);
            expect(await tx.listSecrets({ scope: 'project', group: '__' })).toEqual([]);
            expect(await tx.listSecrets({ scope: '%' })).toEqual([]);
            expect(await tx.listSecrets({ scope: 'project%' })).toEqual([]);
          });
        });

        it('env filters exactly', async () => {
          expect(pathsOf(await read((tx) => tx.listSecrets({ env: 'prod' })))).toEqual(
            expectRows((r) => live(r) && r.env === 'prod'),
          );
          expect(
            pathsOf(await read((tx) => tx.listSecrets({ env: 'prod', includeDeleted: true }))),
          ).toEqual(expectRows((r) => r.env === 'prod'));
          expect(await read((tx) => tx.listSecrets({ env: 'pro' }))).toEqual([]);
        });

        it('combines scope, group, env and includeDeleted', async () => {
          expect(
            pathsOf(
              await read((tx) => tx.listSecrets({ scope: 'project', group: 'a_b', env: 'dev' })),
            ),
          ).toEqual(['project/a_b/k1@dev', 'project/a_b/k2@dev']);
          expect(
            pathsOf(
              await read((tx) =>
                tx.listSecrets({
                  scope: 'project',
                  group: 'a_b',
                  env: 'dev',
                  includeDeleted: true,
                }),
              ),
            ),
          ).toEqual(['project/a_b/gone@dev', 'project/a_b/k1@dev', 'project/a_b/k2@dev']);
          expect(
            pathsOf(
              await read((tx) =>
                tx.listSecrets({ scope: 'meta', env: 'prod', includeDeleted: true }),
              ),
            ),
          ).toEqual(['meta/stripe/key@prod']);
        });

        it('sees updates: a revived secret is listed, a deleted one is not', async () => {
          await write(async (tx) => {
            await tx.updateSecret('project/a_b/gone', 'dev', { deletedAt: null });
            await tx.updateSecret('project/a_b/k2', 'dev', { deletedAt: T2 });
          });
          expect(
            pathsOf(
              await read((tx) => tx.listSecrets({ scope: 'project', group: 'a_b', env: 'dev' })),
            ),
          ).toEqual(['project/a_b/gone@dev', 'project/a_b/k1@dev']);
        });
      });
    });

    describe('versions', () => {
      const P = 'project/app/api_key';

      it('inserts and gets a version with every field', async () => {
        const v = version(P, 'dev', 1, { kekId: 'kek-x', createdAt: T1, actor: 'cli:alice' });
        await write((tx) => tx.insertVersion(v));
        await read(async (tx) => {
          expect(plainVersion(await tx.getVersion(P, 'dev', 1))).toEqual(plainVersion(v));
          expect(await tx.getVersion(P, 'dev', 2)).toBeUndefined();
          expect(await tx.getVersion(P, 'prod', 1)).toBeUndefined();
          expect(await tx.getVersion('project/app/other', 'dev', 1)).toBeUndefined();
        });
      });

      it('getSecretVersion, where the backend has it, is getSecret and getVersion in one read', async () => {
        const both = (path: string, env: string, v: number | undefined) =>
          read(async (tx) => {
            if (tx.getSecretVersion === undefined) return undefined; // callers read the two
            const got = await tx.getSecretVersion(path, env, v);
            const s = await tx.getSecret(path, env);
            const want =
              s === undefined
                ? undefined
                : { secret: s, version: await tx.getVersion(path, env, v ?? s.currentVersion) };
            return { got, want };
          });
        const check = async (path: string, env: string, v: number | undefined) => {
          const r = await both(path, env, v);
          if (r === undefined) return false;
          expect(r.got?.secret).toEqual(r.want?.secret);
          expect(plainVersion(r.got?.version)).toEqual(plainVersion(r.want?.version));
          return true;
        };
        if (!(await check(P, 'dev', undefined))) return; // no such secret
        await write(async (tx) => {
          await tx.insertSecret(secret(P, 'dev', { currentVersion: 2, mac: MAC(1) }));
          await tx.insertSecret(secret(P, 'prod', { currentVersion: 3, deletedAt: T1 }));
          await tx.insertVersion(version(P, 'dev', 1, { kekId: 'kek-1' }));
          await tx.insertVersion(version(P, 'dev', 2, { kekId: 'kek-2', actor: 'cli:bob' }));
          await tx.insertVersion(version(P, 'prod', 1));
        });
        expect((await both(P, 'dev', undefined))?.got?.version?.version).toBe(2);
        for (const v of [undefined, 1, 2, 3]) await check(P, 'dev', v);
        for (const v of [undefined, 1, 2]) await check(P, 'prod', v); // deleted; current missing
        await check(P, 'staging', undefined);
        await check('project/app/other', 'dev', 1);
      });

      it('lists versions oldest first, whatever the insertion order, for one (path, env) only', async () => {
        await write(async (tx) => {
          for (const n of [3, 1, 10, 2]) await tx.insertVersion(version(P, 'dev', n));
          await tx.insertVersion(version(P, 'prod', 5));
          await tx.insertVersion(version('project/app/api_key2', 'dev', 4));
        });
        await read(async (tx) => {
          expect((await tx.listVersions(P, 'dev')).map((v) => v.version)).toEqual([1, 2, 3, 10]);
          expect((await tx.listVersions(P, 'prod')).map((v) => v.version)).toEqual([5]);
          expect(await tx.listVersions(P, 'staging')).toEqual([]);
          const listed = await tx.listVersions(P, 'dev');
          expect(listed.map(plainVersion)).toEqual(
            [1, 2, 3, 10].map((n) => plainVersion(version(P, 'dev', n))),
          );
        });
      });

      it('lists secrets with the stamp of their current version, in one call', async () => {
        await write(async (tx) => {
          await tx.insertSecret(secret(P, 'dev', { currentVersion: 2 }));
          await tx.insertSecret(secret(P, 'prod', { currentVersion: 3 }));
          await tx.insertSecret(secret('project/app/z_gone', 'dev', { deletedAt: T1 }));
          await tx.insertSecret(secret('project/other/k', 'dev'));
          await tx.insertVersion(version(P, 'dev', 1, { createdAt: T0, actor: 'cli:a' }));
          await tx.insertVersion(version(P, 'dev', 2, { createdAt: T1, actor: 'cli:b' }));
          await tx.insertVersion(version(P, 'prod', 1, { createdAt: T0, actor: 'cli:a' }));
          await tx.insertVersion(version('project/other/k', 'dev', 1, { actor: 'cli:c' }));
        });
        await read(async (tx) => {
          const all = await tx.listSecretsWithCurrent({});
          expect(
            all.map((r) => [r.secret.path, r.secret.env, r.currentCreatedAt, r.currentActor]),
          ).toEqual([
            [P, 'dev', T1, 'cli:b'],
            // Version 3 has no row: the stamp is null, the secret is still listed.
            [P, 'prod', null, null],
            ['project/other/k', 'dev', T0, 'cli:c'],
          ]);
          expect(all.map((r) => r.secret)).toEqual(await tx.listSecrets({}));
          const scoped = await tx.listSecretsWithCurrent({
            scope: 'project',
            group: 'app',
            env: 'dev',
            includeDeleted: true,
          });
          expect(scoped.map((r) => r.secret.path)).toEqual([P, 'project/app/z_gone']);
        });
      });

      it("bulk-inserts versions and secrets (more than one statement's worth) and lists every version in order", async () => {
        const versions: VersionRecord[] = [];
        const secrets: SecretRecord[] = [];
        for (let i = 149; i >= 0; i--) {
          const path = `project/bulk/k_${String(i).padStart(3, '0')}`;
          secrets.push(secret(path, 'dev', { mac: bytesOf(i % 256, 7) }));
          for (const n of [2, 1]) versions.push(version(path, 'dev', n));
        }
        versions.push(version('project/bulk/k_000', 'prod', 1));
        await write(async (tx) => {
          await tx.insertSecrets(secrets);
          await tx.insertVersions(versions);
          await tx.insertVersions([]);
          await tx.insertSecrets([]);
        });
        await read(async (tx) => {
          const all = await tx.listAllVersions();
          const key = (v: VersionRecord) => `${v.path} ${v.env} ${v.version}`;
          expect(all.map(key)).toEqual(versions.map(key).sort());
          expect(all.map(plainVersion)).toEqual(
            [...versions].sort((a, b) => (key(a) < key(b) ? -1 : 1)).map(plainVersion),
          );
          const listed = await tx.listSecrets({ includeDeleted: true });
          expect(listed.map((x) => x.path)).toEqual(secrets.map((x) => x.path).reverse());
          expect(hex(listed[0]!.mac)).toBe(hex(secrets[secrets.length - 1]!.mac));
          expect(listed[0]).toMatchObject({
            ...secrets[secrets.length - 1]!,
            mac: expect.anything(),
          });
        });
      });

      it('allows the same version number under another path or env', async () => {
        await write(async (tx) => {
          await tx.insertVersion(version(P, 'dev', 1));
          await tx.insertVersion(version(P, 'prod', 1));
          await tx.insertVersion(version(`${P}_2`, 'dev', 1));
        });
        await read(async (tx) => {
          expect(await tx.getVersion(P, 'prod', 1)).toBeDefined();
          expect(await tx.getVersion(`${P}_2`, 'dev', 1)).toBeDefined();
        });
      });

      it('rejects a duplicate (path, env, version) and rolls the whole transaction back', async () => {
        const first = version(P, 'dev', 1);
        await write(async (tx) => {
          await tx.insertSecret(secret(P, 'dev'));
          await tx.insertVersion(first);
        });
        await expect(
          write(async (tx) => {
            await tx.setMeta('marker', 'should vanish');
            await tx.insertSecret(secret('project/app/new', 'dev'));
            await tx.updateSecret(P, 'dev', { currentVersion: 2, description: 'racer' });
            await tx.insertVersion(version(P, 'dev', 2));
            await tx.insertVersion(
              version(P, 'dev', 1, { ciphertext: bytesOf(9, 9), actor: 'racer' }),
            );
          }),
        ).rejects.toThrow();
        await read(async (tx) => {
          expect(await tx.getMeta('marker')).toBeUndefined();
          expect(await tx.getSecret('project/app/new', 'dev')).toBeUndefined();
          expect(await tx.getSecret(P, 'dev')).toEqual(secret(P, 'dev'));
          expect((await tx.listVersions(P, 'dev')).map(plainVersion)).toEqual([
            plainVersion(first),
          ]);
        });
        // The store is still usable afterwards.
        await write((tx) => tx.insertVersion(version(P, 'dev', 2)));
        expect((await read((tx) => tx.listVersions(P, 'dev'))).length).toBe(2);
      });
    });

    describe('wrapped keys', () => {
      async function seed(perKek: Record<string, number>): Promise<VersionRecord[]> {
        const all: VersionRecord[] = [];
        for (const [kekId, n] of Object.entries(perKek)) {
          for (let i = 1; i <= n; i++) {
            all.push(
              version(`project/${kekId}/k${i}`, i % 2 ? 'dev' : 'prod', i, {
                kekId,
                wrappedDek: bytesOf(0, i, kekId.length, 0),
              }),
            );
          }
        }
        await write(async (tx) => {
          for (const v of all) await tx.insertVersion(v);
        });
        return all;
      }

      it('counts wrapped keys per KEK', async () => {
        expect((await read((tx) => tx.countWrappedKeys())).size).toBe(0);
        await seed({ 'kek-a': 3, 'kek-b': 1, 'kek-c': 5 });
        const counts = await read((tx) => tx.countWrappedKeys());
        expect(Object.fromEntries(counts)).toEqual({ 'kek-a': 3, 'kek-b': 1, 'kek-c': 5 });
        for (const n of counts.values()) expect(typeof n).toBe('number');
      });

      it('lists up to `limit` rows across several KEK ids, only from those ids', async () => {
        const all = await seed({ 'kek-a': 3, 'kek-b': 3, 'kek-c': 3 });
        await read(async (tx) => {
          for (const limit of [1, 2, 3, 4, 5, 6, 10]) {
            const rows = await tx.listWrappedKeys(['kek-a', 'kek-b'], limit);
            expect(rows.length, `limit ${limit}`).toBe(Math.min(limit, 6));
            for (const r of rows) expect(['kek-a', 'kek-b']).toContain(r.kekId);
            expect(new Set(rows.map((r) => r.rowId)).size).toBe(rows.length);
          }
          expect(await tx.listWrappedKeys([], 10)).toEqual([]);
          expect(await tx.listWrappedKeys(['kek-a'], 0)).toEqual([]);
          expect(await tx.listWrappedKeys(['nobody'], 10)).toEqual([]);
          const c = await tx.listWrappedKeys(['kek-c', 'nobody'], 10);
          expect(c.length).toBe(3);
          // Each row describes its version exactly.
          for (const r of c) {
            const v = all.find((x) => x.path === r.path && x.env === r.env);
            expect(v).toBeDefined();
            expect(r.version).toBe(v!.version);
            expect(r.kekId).toBe('kek-c');
            expectBytes(r.wrappedDek, v!.wrappedDek);
          }
        });
      });

      it('listing a KEK id twice does not return its rows twice', async () => {
        await seed({ 'kek-a': 2 });
        const rows = await read((tx) => tx.listWrappedKeys(['kek-a', 'kek-a'], 10));
        expect(rows.map((r) => r.rowId).sort()).toEqual(
          [...new Set(rows.map((r) => r.rowId))].sort(),
        );
        expect(rows.length).toBe(2);
      });

      it('updateWrappedKey moves one row to another KEK and keeps its ciphertext', async () => {
        const all = await seed({ 'kek-a': 2 });
        const rows = await read((tx) => tx.listWrappedKeys(['kek-a'], 1));
        const row = rows[0]!;
        const rewrapped = bytesOf(0, 0, 0xab, 0, 0);
        await write((tx) => tx.updateWrappedKey(row.rowId, 'kek-b', rewrapped));
        await read(async (tx) => {
          const v = await tx.getVersion(row.path, row.env, row.version);
          const orig = all.find((x) => x.path === row.path && x.env === row.env)!;
          expect(v?.kekId).toBe('kek-b');
          expectBytes(v?.wrappedDek, rewrapped);
          expectBytes(v?.ciphertext, orig.ciphertext);
          expect(v?.createdAt).toBe(orig.createdAt);
          expect(v?.actor).toBe(orig.actor);
          expect(Object.fromEntries(await tx.countWrappedKeys())).toEqual({
            'kek-a': 1,
            'kek-b': 1,
          });
          const other = all.find((x) => x.path !== row.path)!;
          expect(plainVersion(await tx.getVersion(other.path, other.env, other.version))).toEqual(
            plainVersion(other),
          );
        });
      });

      it('a rotation-style loop (list a batch, re-wrap it) drains the old KEKs', async () => {
        const all = await seed({ 'kek-a': 7, 'kek-b': 4, 'kek-new': 2 });
        let batches = 0;
        for (;;) {
          const n = await write(async (tx) => {
            const rows = await tx.listWrappedKeys(['kek-a', 'kek-b'], 3);
            for (const r of rows) {
              await tx.updateWrappedKey(r.rowId, 'kek-new', bytesOf(0xee, r.version));
            }
            return rows.length;
          });
          if (n === 0) break;
          batches++;
          expect(batches).toBeLessThan(10);
        }
        expect(batches).toBe(4);
        await read(async (tx) => {
          expect(Object.fromEntries(await tx.countWrappedKeys())).toEqual({ 'kek-new': 13 });
          for (const v of all) {
            const got = await tx.getVersion(v.path, v.env, v.version);
            expect(got?.kekId).toBe('kek-new');
            expectBytes(got?.ciphertext, v.ciphertext);
          }
        });
      });
    });

    describe('audit', () => {
      it('an empty log has no last record and lists nothing', async () => {
        await read(async (tx) => {
          expect(await tx.lastAudit()).toBeUndefined();
          expect(await tx.listAudit({})).toEqual([]);
          expect(await tx.listAudit({ descending: true, limit: 5 })).toEqual([]);
        });
      });

      it('appends records and returns them whole; lastAudit is the newest', async () => {
        const recs = auditRecords(5, (i) => ({
          path: i % 2 ? 'project/app/k' : null,
          env: i % 2 ? 'dev' : null,
          version: i % 2 ? i : null,
          detail: i === 3 ? 'detail text' : null,
          outcome: i === 4 ? 'denied' : 'ok',
        }));
        for (const r of recs) await write((tx) => tx.appendAudit(r));
        await read(async (tx) => {
          expect(await tx.listAudit({})).toEqual(recs);
          expect(await tx.lastAudit()).toEqual(recs[4]);
        });
      });

      it('auditTail, where the backend has it, is lastAudit and the head entry in one read', async () => {
        const tail = async (tx: StorageTx) => {
          if (tx.auditTail === undefined) return undefined; // callers read the two
          const got = await tx.auditTail('audit_head');
          return {
            got,
            want: { last: await tx.lastAudit(), head: await tx.getMeta('audit_head') },
          };
        };
        const check = async () => {
          const r = await read(tail);
          if (r !== undefined) expect(r.got).toEqual(r.want);
        };
        await check(); // empty log, no head
        const recs = auditRecords(3, (i) => ({ detail: i === 2 ? 'the newest' : null }));
        await write((tx) => tx.appendAuditBatch(recs));
        await check(); // records, no head
        await write((tx) => tx.setMeta('audit_head', 'head text'));
        await check();
      });

      it('appendAuditWithHead, where the backend has it, appends the records and sets the head, or neither', async () => {
        const append = (records: AuditRecord[], head: string) =>
          write(async (tx) => {
            if (tx.appendAuditWithHead === undefined) return false; // callers make the two calls
            await tx.appendAuditWithHead(records, 'audit_head', head);
            return true;
          });
        const first = auditRecords(1);
        if (!(await append(first, 'head 1'))) return;
        // Small and large batches (PostgreSQL writes them differently).
        const small = auditRecords(5, (i) => ({ detail: i === 2 ? null : `small ${i}` }), first[0]);
        await append(small, 'head 6');
        const batch = auditRecords(40, (i) => ({ detail: `batch ${i}` }), small[4]);
        await append(batch, 'head 46');
        await read(async (tx) => {
          expect(await tx.listAudit({ limit: 100 })).toEqual([...first, ...small, ...batch]);
          expect(await tx.getMeta('audit_head')).toBe('head 46');
        });
        // A clash on seq fails the statement: no record and no head change.
        for (const n of [3, 40]) {
          const clash = auditRecords(n, () => ({}), batch[38]); // starts at seq 46, taken
          await expect(append(clash, 'head 47')).rejects.toThrow();
        }
        await read(async (tx) => {
          expect((await tx.lastAudit())?.seq).toBe(46);
          expect(await tx.getMeta('audit_head')).toBe('head 46');
        });
      });

      it('rejects a second record with the same seq', async () => {
        const [r1] = auditRecords(1);
        await write((tx) => tx.appendAudit(r1!));
        await expect(write((tx) => tx.appendAudit({ ...r1!, action: 'forged' }))).rejects.toThrow();
        expect(await read((tx) => tx.listAudit({}))).toEqual([r1]);
      });

      it('appendAuditBatch appends many records in order, in one call', async () => {
        const first = auditRecords(2);
        const batch = auditRecords(150, (i) => ({ detail: `batch ${i}` }), first[1]);
        await write(async (tx) => {
          await tx.appendAuditBatch(first);
          await tx.appendAuditBatch([]);
          await tx.appendAuditBatch(batch);
        });
        await read(async (tx) => {
          expect(await tx.listAudit({ limit: 500 })).toEqual([...first, ...batch]);
          expect((await tx.lastAudit())?.seq).toBe(152);
        });
      });

      it('appendAuditBatch with a duplicate seq appends none of the batch', async () => {
        const first = auditRecords(3);
        await write((tx) => tx.appendAuditBatch(first));
        const clash = auditRecords(70, () => ({}), first[1]); // starts at seq 3
        await expect(write((tx) => tx.appendAuditBatch(clash))).rejects.toThrow();
        expect(await read((tx) => tx.listAudit({}))).toEqual(first);
      });

      describe('listAudit queries', () => {
        // seq 1..12; every third record has path A, the others B or null.
        const A = 'project/app/a';
        const B = 'project/app/b';
        const recs = auditRecords(12, (i) => ({
          path: i % 3 === 0 ? A : i % 3 === 1 ? B : null,
          action: i % 4 === 0 ? 'sync' : i % 4 === 1 ? 'get' : 'set',
        }));
        const seqs = (rs: AuditRecord[]) => rs.map((r) => r.seq);

        beforeEach(async () => {
          await write(async (tx) => {
            for (const r of recs) await tx.appendAudit(r);
          });
        });

        it('ascending by default, all records when no limit is given', async () => {
          expect(seqs(await read((tx) => tx.listAudit({})))).toEqual([
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
          ]);
        });

        it('afterSeq returns the records after it', async () => {
          await read(async (tx) => {
            expect(seqs(await tx.listAudit({ afterSeq: 9 }))).toEqual([10, 11, 12]);
            expect(seqs(await tx.listAudit({ afterSeq: 0 }))).toHaveLength(12);
            expect(await tx.listAudit({ afterSeq: 12 })).toEqual([]);
            expect(await tx.listAudit({ afterSeq: 100 })).toEqual([]);
          });
        });

        it('limit caps the count, from the start of the order', async () => {
          await read(async (tx) => {
            expect(seqs(await tx.listAudit({ limit: 3 }))).toEqual([1, 2, 3]);
            expect(seqs(await tx.listAudit({ limit: 3, afterSeq: 4 }))).toEqual([5, 6, 7]);
            expect(seqs(await tx.listAudit({ limit: 100 }))).toHaveLength(12);
          });
        });

        it('descending returns newest first', async () => {
          await read(async (tx) => {
            expect(seqs(await tx.listAudit({ descending: true }))).toEqual([
              12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
            ]);
            expect(seqs(await tx.listAudit({ descending: true, limit: 3 }))).toEqual([12, 11, 10]);
            expect(seqs(await tx.listAudit({ descending: false, limit: 2 }))).toEqual([1, 2]);
          });
        });

        it('descending with afterSeq pages backwards (afterSeq is a cursor in list order)', async () => {
          // The interface does not spell this out; this pins the SQLite behaviour so that
          // every backend pages the same way.
          await read(async (tx) => {
            expect(seqs(await tx.listAudit({ descending: true, afterSeq: 10, limit: 3 }))).toEqual([
              9, 8, 7,
            ]);
            expect(seqs(await tx.listAudit({ descending: true, afterSeq: 2 }))).toEqual([1]);
          });
        });

        it('path filters exactly, combined with order, afterSeq and limit', async () => {
          await read(async (tx) => {
            expect(seqs(await tx.listAudit({ path: A }))).toEqual([1, 4, 7, 10]);
            expect(seqs(await tx.listAudit({ path: B }))).toEqual([2, 5, 8, 11]);
            expect(seqs(await tx.listAudit({ path: A, descending: true, limit: 2 }))).toEqual([
              10, 7,
            ]);
            expect(seqs(await tx.listAudit({ path: A, afterSeq: 4, limit: 2 }))).toEqual([7, 10]);
            expect(await tx.listAudit({ path: 'project/app' })).toEqual([]);
            expect(await tx.listAudit({ path: 'project/app/%' })).toEqual([]);
          });
        });

        it('action filters exactly, combined with path, order, afterSeq and limit', async () => {
          await read(async (tx) => {
            expect(seqs(await tx.listAudit({ action: 'sync' }))).toEqual([1, 5, 9]);
            expect(seqs(await tx.listAudit({ action: 'get' }))).toEqual([2, 6, 10]);
            expect(seqs(await tx.listAudit({ action: 'sync', path: A }))).toEqual([1]);
            expect(seqs(await tx.listAudit({ action: 'set', afterSeq: 4, limit: 2 }))).toEqual([
              7, 8,
            ]);
            expect(seqs(await tx.listAudit({ action: 'set', descending: true, limit: 1 }))).toEqual(
              [12],
            );
            expect(await tx.listAudit({ action: 'syn%' })).toEqual([]);
            expect(await tx.listAudit({ action: 'SYNC' })).toEqual([]);
          });
        });
      });
    });

    describe('tokens', () => {
      const token = (id: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
        id,
        name: `name-${id}`,
        hash: 'ab'.repeat(32),
        allow: ['project/app/*', 'meta/\u00e9/*'],
        envs: ['dev', 'prod'],
        caps: ['read', 'list'],
        createdAt: T1,
        expiresAt: T2,
        revokedAt: null,
        mac: null,
        ...over,
      });

      it('inserts and reads a token by id and by name with every field', async () => {
        const t = token('t1');
        const u = token('t2', { envs: [], caps: ['admin'], expiresAt: null, createdAt: T2 });
        await write(async (tx) => {
          await tx.insertToken(t);
          await tx.insertToken(u);
        });
        await read(async (tx) => {
          expect(await tx.getToken('t1')).toEqual(t);
          expect(await tx.getTokenByName('name-t2')).toEqual(u);
          expect(await tx.getToken('nope')).toBeUndefined();
          expect(await tx.getTokenByName('nope')).toBeUndefined();
          expect((await tx.listTokens()).map((x) => x.id)).toEqual(['t1', 't2']);
        });
      });

      it('refuses a duplicate id or name and keeps the first', async () => {
        await write((tx) => tx.insertToken(token('t1')));
        await expect(
          write((tx) => tx.insertToken(token('t1', { name: 'other' }))),
        ).rejects.toThrow();
        await expect(
          write((tx) => tx.insertToken(token('t9', { name: 'name-t1' }))),
        ).rejects.toThrow();
        expect(await read((tx) => tx.listTokens())).toEqual([token('t1')]);
      });

      it('revokes a token; revoking an unknown id returns false', async () => {
        await write((tx) => tx.insertToken(token('t1')));
        expect(await write((tx) => tx.revokeToken('t1', T0))).toBe(true);
        expect(await write((tx) => tx.revokeToken('nope', T0))).toBe(false);
        expect((await read((tx) => tx.getToken('t1')))?.revokedAt).toBe(T0);
      });

      it('rolls a token insert back with its transaction', async () => {
        await expect(
          write(async (tx) => {
            await tx.insertToken(token('t1'));
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await read((tx) => tx.listTokens())).toEqual([]);
      });
    });

    describe('row MACs (the mac column of keks, secrets and tokens)', () => {
      const hexOf = (r: { mac?: Uint8Array | null } | undefined) => hex(r?.mac);
      const tok = (id: string, mac: Uint8Array | null): TokenRecord => ({
        id,
        name: `name-${id}`,
        hash: 'cd'.repeat(32),
        allow: ['**'],
        envs: [],
        caps: ['read'],
        createdAt: T0,
        expiresAt: null,
        revokedAt: null,
        mac,
      });

      it('stores a MAC with each kind of row and returns it exactly; none is null', async () => {
        await write(async (tx) => {
          await tx.insertKek(kek('kek-1', { mac: MAC(1) }));
          await tx.insertKek(kek('kek-2'));
          await tx.insertSecret(secret('project/app/a', 'dev', { mac: MAC(2) }));
          await tx.insertSecret(secret('project/app/b', 'dev'));
          await tx.insertToken(tok('t1', MAC(3)));
          await tx.insertToken(tok('t2', null));
        });
        await read(async (tx) => {
          expect(hexOf(await tx.getKek('kek-1'))).toBe(hex(MAC(1)));
          expect((await tx.getKek('kek-2'))?.mac).toBeNull();
          expect((await tx.listKeks()).map(hexOf).sort()).toEqual([hex(MAC(1)), null].sort());
          expect(hexOf(await tx.getSecret('project/app/a', 'dev'))).toBe(hex(MAC(2)));
          expect((await tx.getSecret('project/app/b', 'dev'))?.mac).toBeNull();
          expect((await tx.listSecrets({})).map(hexOf)).toEqual([hex(MAC(2)), null]);
          expect(hexOf(await tx.getToken('t1'))).toBe(hex(MAC(3)));
          expect(hexOf(await tx.getTokenByName('name-t1'))).toBe(hex(MAC(3)));
          expect((await tx.getToken('t2'))?.mac).toBeNull();
          expect((await tx.listTokens()).map(hexOf)).toEqual([hex(MAC(3)), null]);
        });
      });

      it('a patch with a MAC replaces it with the other fields; one without keeps it', async () => {
        await write(async (tx) => {
          await tx.insertKek(kek('kek-1', { mac: MAC(1) }));
          await tx.insertSecret(secret('project/app/a', 'dev', { mac: MAC(2) }));
          await tx.insertToken(tok('t1', MAC(3)));
        });
        await write(async (tx) => {
          await tx.updateKek('kek-1', { status: 'retiring', mac: MAC(11) });
          await tx.updateSecret('project/app/a', 'dev', { currentVersion: 2, mac: MAC(12) });
          expect(await tx.updateToken('t1', { revokedAt: T1, mac: MAC(13) })).toBe(true);
          expect(await tx.updateToken('ghost', { mac: MAC(14) })).toBe(false);
        });
        await read(async (tx) => {
          const k = await tx.getKek('kek-1');
          expect([k?.status, hexOf(k)]).toEqual(['retiring', hex(MAC(11))]);
          const s = await tx.getSecret('project/app/a', 'dev');
          expect([s?.currentVersion, hexOf(s)]).toEqual([2, hex(MAC(12))]);
          const t = await tx.getToken('t1');
          expect([t?.revokedAt, hexOf(t)]).toEqual([T1, hex(MAC(13))]);
          expect(await tx.getToken('ghost')).toBeUndefined();
        });
        await write(async (tx) => {
          await tx.updateKek('kek-1', { retiredAt: T2 });
          await tx.updateSecret('project/app/a', 'dev', { description: 'Changed description' });
          await tx.revokeToken('t1', T2);
          // A patch of the MAC alone (the migration of a vault written before row MACs).
          await tx.insertToken(tok('t2', null));
          expect(await tx.updateToken('t2', { mac: MAC(15) })).toBe(true);
        });
        await read(async (tx) => {
          expect(hexOf(await tx.getKek('kek-1'))).toBe(hex(MAC(11)));
          expect(hexOf(await tx.getSecret('project/app/a', 'dev'))).toBe(hex(MAC(12)));
          expect(hexOf(await tx.getToken('t1'))).toBe(hex(MAC(13)));
          const t2 = await tx.getToken('t2');
          expect([t2?.revokedAt, hexOf(t2)]).toEqual([null, hex(MAC(15))]);
        });
      });
    });

    describe('round trips', () => {
      const bytesArb = fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        // Zero-heavy arrays: NUL bytes must not end or shorten a value.
        fc
          .array(fc.constantFrom(0, 0, 0, 0x80, 0xff), { maxLength: 64 })
          .map((a) => Uint8Array.from(a)),
      );

      it('byte columns round-trip exactly (generated bytes, zeros included)', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            bytesArb,
            bytesArb,
            fc.option(bytesArb, { nil: null }),
            bytesArb,
            async (dek, ciphertext, sealed, rewrapped) => {
              run++;
              const path = `project/bytes/k${run}`;
              const kekId = `kek-${run}`;
              await write(async (tx) => {
                await tx.insertKek(kek(kekId, { sealed }));
                await tx.insertVersion(
                  version(path, 'dev', 1, { kekId, wrappedDek: dek, ciphertext }),
                );
              });
              const rowId = await read(async (tx) => {
                const k = await tx.getKek(kekId);
                if (sealed === null) expect(k?.sealed).toBeNull();
                else expectBytes(k?.sealed, sealed);
                const listed = (await tx.listKeks()).find((x) => x.id === kekId);
                expect(hex(listed?.sealed)).toBe(hex(sealed));
                const v = await tx.getVersion(path, 'dev', 1);
                expectBytes(v?.wrappedDek, dek);
                expectBytes(v?.ciphertext, ciphertext);
                const [lv] = await tx.listVersions(path, 'dev');
                expectBytes(lv?.wrappedDek, dek);
                expectBytes(lv?.ciphertext, ciphertext);
                const rows = await tx.listWrappedKeys([kekId], 10);
                expect(rows).toHaveLength(1);
                expectBytes(rows[0]!.wrappedDek, dek);
                return rows[0]!.rowId;
              });
              await write(async (tx) => {
                await tx.updateWrappedKey(rowId, kekId, rewrapped);
                await tx.updateKek(kekId, { sealed: rewrapped });
              });
              await read(async (tx) => {
                const v = await tx.getVersion(path, 'dev', 1);
                expectBytes(v?.wrappedDek, rewrapped);
                expectBytes(v?.ciphertext, ciphertext);
                expectBytes((await tx.getKek(kekId))?.sealed, rewrapped);
              });
            },
          ),
          {
            numRuns: 25,
            examples: [
              [new Uint8Array(32), new Uint8Array(0), new Uint8Array(1), new Uint8Array(0)],
              [bytesOf(0xff), bytesOf(0, 0, 0, 1), null, bytesOf(0, 0xff, 0)],
            ],
          },
        );
      });

      it('byte views (subarrays of a larger buffer) store only their own bytes', async () => {
        const backing = Uint8Array.from({ length: 64 }, (_, i) => i + 1);
        const dek = backing.subarray(5, 13);
        const ciphertext = new Uint8Array(backing.buffer, 20, 7);
        const sealed = Buffer.from(backing.subarray(40, 44));
        await write(async (tx) => {
          await tx.insertKek(kek('kek-v', { sealed }));
          await tx.insertVersion(
            version('project/app/view', 'dev', 1, { wrappedDek: dek, ciphertext }),
          );
        });
        await read(async (tx) => {
          const v = await tx.getVersion('project/app/view', 'dev', 1);
          expectBytes(v?.wrappedDek, Uint8Array.from([6, 7, 8, 9, 10, 11, 12, 13]));
          expectBytes(v?.ciphertext, Uint8Array.from([21, 22, 23, 24, 25, 26, 27]));
          expectBytes((await tx.getKek('kek-v'))?.sealed, Uint8Array.from([41, 42, 43, 44]));
        });
      });

      it('stored bytes are independent of the caller’s arrays', async () => {
        const dek = bytesOf(1, 2, 3);
        await write((tx) =>
          tx.insertVersion(version('project/app/own', 'dev', 1, { wrappedDek: dek })),
        );
        dek.fill(0); // e.g. the caller wipes its key material after the write
        const first = await read((tx) => tx.getVersion('project/app/own', 'dev', 1));
        expectBytes(first?.wrappedDek, bytesOf(1, 2, 3));
        first!.wrappedDek.fill(0xff);
        const again = await read((tx) => tx.getVersion('project/app/own', 'dev', 1));
        expectBytes(again?.wrappedDek, bytesOf(1, 2, 3));
      });

      it('text columns round-trip any unicode (generated strings)', async () => {
        let run = 0;
        const text = fc.string({ unit: 'binary', maxLength: 40 });
        await fc.assert(
          fc.asyncProperty(text, text, text, text, async (a, b, c, d) => {
            run++;
            const path = `project/text/k${run}/${a}`;
            const metaKey = `key-${run}-${b}`;
            const s = secret(path, `env-${c}`, {
              description: b,
              rotation: c,
              envVar: d,
              generator: a,
            });
            const v = version(path, s.env, 1, { actor: d, kekId: `kek-${c}` });
            // One record per run, chained after the previous run's seq.
            const [rec] = auditRecords(1, () => ({ actor: a, detail: b, path, env: d }), {
              seq: run - 1,
              hash: '0'.repeat(64),
            });
            await write(async (tx) => {
              await tx.setMeta(metaKey, c);
              await tx.insertSecret(s);
              await tx.insertVersion(v);
              await tx.appendAudit(rec!);
            });
            await read(async (tx) => {
              expect(await tx.getMeta(metaKey)).toBe(c);
              expect(await tx.getSecret(path, s.env)).toEqual(s);
              expect(plainVersion(await tx.getVersion(path, s.env, 1))).toEqual(plainVersion(v));
              expect(await tx.lastAudit()).toEqual(rec);
              expect(await tx.listAudit({ path })).toEqual([rec]);
            });
          }),
          { numRuns: 30 },
        );
      });

      it('text columns round-trip edge-case strings (NUL, BOM, astral, 70 kB, …)', async () => {
        for (const [i, t] of EDGE_TEXTS.entries()) {
          const label = `edge text #${i}`;
          const path = `project/edge/k${i}`;
          const s = secret(path, 'dev', { description: t, rotation: t, generator: t });
          await write(async (tx) => {
            await tx.setMeta(`edge-${i}`, t);
            await tx.insertSecret(s);
          });
          await read(async (tx) => {
            expect(await tx.getMeta(`edge-${i}`), label).toBe(t);
            expect(await tx.getSecret(path, 'dev'), label).toEqual(s);
          });
        }
        // A text key with NUL in it is its own key.
        await write(async (tx) => {
          await tx.setMeta('n\u0000', 'with nul');
          await tx.setMeta('n', 'without');
        });
        await read(async (tx) => {
          expect(await tx.getMeta('n\u0000')).toBe('with nul');
          expect(await tx.getMeta('n')).toBe('without');
        });
      });
    });

    describe('transactions', () => {
      const P = 'project/app/key';
      const NEW = 'project/app/other';
      const META_KEYS = ['m1', 'm2'];
      const SLOTS = [
        [P, 'dev'],
        [NEW, 'dev'],
      ] as const;

      async function seedAll(): Promise<void> {
        await write(async (tx) => {
          await tx.setMeta('m1', 'one');
          await tx.insertKek(kek('kek-old', { status: 'retiring' }));
          await tx.insertKek(kek('kek-new', { createdAt: T1 }));
          await tx.insertSecret(secret(P, 'dev', { tier: 1 }));
          await tx.insertVersion(version(P, 'dev', 1, { kekId: 'kek-old' }));
          await tx.appendAuditBatch(auditRecords(3));
        });
      }

      const writes: Record<string, (tx: StorageTx) => Promise<void>> = {
        'setMeta (new key)': (tx) => tx.setMeta('m2', 'two'),
        'setMeta (overwrite)': (tx) => tx.setMeta('m1', 'changed'),
        insertKek: (tx) => tx.insertKek(kek('kek-3')),
        updateKek: (tx) =>
          tx.updateKek('kek-old', { status: 'retired', sealed: null, retiredAt: T2 }),
        insertSecret: (tx) => tx.insertSecret(secret(NEW, 'dev')),
        updateSecret: (tx) =>
          tx.updateSecret(P, 'dev', {
            description: 'changed',
            localOnly: true,
            tier: null,
            deletedAt: T2,
          }),
        'insertVersion (next version)': (tx) => tx.insertVersion(version(P, 'dev', 2)),
        'insertVersion (new path)': (tx) => tx.insertVersion(version(NEW, 'dev', 1)),
        updateWrappedKey: async (tx) => {
          const [row] = await tx.listWrappedKeys(['kek-old'], 1);
          await tx.updateWrappedKey(row!.rowId, 'kek-new', bytesOf(7, 7, 7));
        },
        appendAudit: async (tx) => {
          const last = await tx.lastAudit();
          await tx.appendAudit(auditRecords(1, () => ({}), last)[0]!);
        },
        appendAuditBatch: async (tx) => {
          const last = await tx.lastAudit();
          await tx.appendAuditBatch(auditRecords(4, () => ({}), last));
        },
      };
      const allWrites = async (tx: StorageTx) => {
        for (const w of Object.values(writes)) await w(tx);
      };

      it.each([...Object.entries(writes), ['every kind of write at once', allWrites] as const])(
        'a callback that throws after %s leaves nothing behind',
        async (_label, act) => {
          await seedAll();
          const before = await read((tx) => snapshot(tx, META_KEYS, SLOTS));
          const boom = new Error('boom');
          await expect(
            write(async (tx) => {
              await act(tx);
              // The write itself took effect inside the transaction...
              expect(await snapshot(tx, META_KEYS, SLOTS)).not.toEqual(before);
              await tick();
              throw boom;
            }),
          ).rejects.toBe(boom);
          // ...and the rollback undid it.
          expect(await read((tx) => snapshot(tx, META_KEYS, SLOTS))).toEqual(before);
          // The same write commits normally afterwards.
          await write(act);
          expect(await read((tx) => snapshot(tx, META_KEYS, SLOTS))).not.toEqual(before);
        },
      );

      it('a synchronous throw and a rejected promise both roll back', async () => {
        await expect(
          write(() => {
            throw new Error('sync');
          }),
        ).rejects.toThrow('sync');
        await expect(
          write(async (tx) => {
            await tx.setMeta('m', 'x');
            return Promise.reject(new Error('async'));
          }),
        ).rejects.toThrow('async');
        expect(await read((tx) => tx.getMeta('m'))).toBeUndefined();
        await write((tx) => tx.setMeta('m', 'ok'));
        expect(await read((tx) => tx.getMeta('m'))).toBe('ok');
      });

      it('returns the callback’s value; a transaction sees its own writes', async () => {
        const out = await write(async (tx) => {
          await tx.setMeta('m', '1');
          await tx.insertSecret(secret(P, 'dev'));
          await tx.updateSecret(P, 'dev', { currentVersion: 4 });
          await tx.appendAudit(auditRecords(1)[0]!);
          return {
            meta: await tx.getMeta('m'),
            version: (await tx.getSecret(P, 'dev'))?.currentVersion,
            last: (await tx.lastAudit())?.seq,
          };
        });
        expect(out).toEqual({ meta: '1', version: 4, last: 1 });
      });

      it('a committed write is visible to later read and write transactions', async () => {
        await write(async (tx) => {
          await tx.setMeta('m', 'committed');
          await tx.insertSecret(secret(P, 'dev'));
        });
        expect(await read((tx) => tx.getMeta('m'))).toBe('committed');
        expect(await write((tx) => tx.getSecret(P, 'dev'))).toEqual(secret(P, 'dev'));
      });

      it('a failed read transaction passes its error on and changes nothing', async () => {
        await write((tx) => tx.setMeta('m', 'v'));
        const err = new Error('read failed');
        await expect(
          read(async (tx) => {
            await tx.getMeta('m');
            throw err;
          }),
        ).rejects.toBe(err);
        expect(await read((tx) => tx.getMeta('m'))).toBe('v');
      });

      const yields: Record<string, () => Promise<unknown>> = {
        'setTimeout(0)': tick,
        'Promise.resolve()': () => Promise.resolve(),
      };

      it.each(Object.entries(yields))(
        '20 concurrent write transactions are serialised (yield: %s)',
        async (_label, yieldNow) => {
          await Promise.all(Array.from({ length: 20 }, () => increment(storage, yieldNow)));
          expect(await read((tx) => tx.getMeta(COUNTER))).toBe('20');
        },
      );

      it('concurrent writers where some fail: only the successful ones count', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            write(async (tx) => {
              const n = Number((await tx.getMeta(COUNTER)) ?? '0');
              await tick();
              await tx.setMeta(COUNTER, String(n + 1));
              if (i % 3 === 0) throw new Error(`writer ${i} fails`);
            }),
          ),
        );
        const ok = results.filter((r) => r.status === 'fulfilled').length;
        expect(ok).toBe(13);
        expect(await read((tx) => tx.getMeta(COUNTER))).toBe('13');
      });

      it('read transactions started among writers see only committed states', async () => {
        const seen: number[] = [];
        const work: Promise<unknown>[] = [];
        for (let i = 0; i < 10; i++) {
          work.push(
            write(async (tx) => {
              const n = Number((await tx.getMeta(COUNTER)) ?? '0');
              await tx.setMeta(COUNTER, String(n + 0.5));
              await tick();
              await tx.setMeta(COUNTER, String(n + 1));
            }),
          );
          work.push(
            read(async (tx) => {
              seen.push(Number((await tx.getMeta(COUNTER)) ?? '0'));
            }),
          );
        }
        await Promise.all(work);
        expect(seen).toHaveLength(10);
        for (const n of seen) expect(Number.isInteger(n), `saw ${n}`).toBe(true);
        expect(await read((tx) => tx.getMeta(COUNTER))).toBe('10');
      });
    });

    describe('a second connection on the same store', () => {
      async function second(): Promise<Storage | undefined> {
        return sut.openSecond === undefined ? undefined : sut.openSecond();
      }

      it('sees a committed write at once, both ways', async (ctx) => {
        const other = await second();
        if (other === undefined) return ctx.skip();
        // Read something first so that any cached state would be stale.
        expect(await other.transaction('read', (tx) => tx.getMeta('m'))).toBeUndefined();
        await storage.transaction('write', async (tx) => {
          await tx.setMeta('m', 'from first');
          await tx.insertSecret(secret('project/app/k', 'dev'));
          await tx.insertVersion(version('project/app/k', 'dev', 1));
        });
        await other.transaction('read', async (tx) => {
          expect(await tx.getMeta('m')).toBe('from first');
          expect(await tx.getSecret('project/app/k', 'dev')).toEqual(
            secret('project/app/k', 'dev'),
          );
          expect(plainVersion(await tx.getVersion('project/app/k', 'dev', 1))).toEqual(
            plainVersion(version('project/app/k', 'dev', 1)),
          );
        });
        await other.transaction('write', (tx) => tx.setMeta('m', 'from second'));
        expect(await storage.transaction('read', (tx) => tx.getMeta('m'))).toBe('from second');
        expect(await storage.transaction('write', (tx) => tx.getMeta('m'))).toBe('from second');
      });

      it('sees a write committed with deferSync at once (it is committed, just synced later)', async (ctx) => {
        const other = await second();
        if (other === undefined) return ctx.skip();
        await storage.transaction('write', (tx) => tx.setMeta('deferred', 'yes'), {
          deferSync: true,
        });
        expect(await other.transaction('read', (tx) => tx.getMeta('deferred'))).toBe('yes');
        await expect(
          storage.transaction(
            'write',
            async (tx) => {
              await tx.setMeta('deferred', 'rolled back');
              throw new Error('boom');
            },
            { deferSync: true },
          ),
        ).rejects.toThrow();
        expect(await other.transaction('read', (tx) => tx.getMeta('deferred'))).toBe('yes');
      });

      it('does not see a rolled-back write', async (ctx) => {
        const other = await second();
        if (other === undefined) return ctx.skip();
        await expect(
          storage.transaction('write', async (tx) => {
            await tx.setMeta('m', 'never');
            await tick();
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        expect(await other.transaction('read', (tx) => tx.getMeta('m'))).toBeUndefined();
      });

      it('interleaved write transactions from both lose no update (20 + 20 = 40)', async (ctx) => {
        const other = await second();
        if (other === undefined) return ctx.skip();
        const work: Promise<void>[] = [];
        for (let i = 0; i < 20; i++) {
          work.push(increment(storage, tick), increment(other, tick));
        }
        await Promise.all(work);
        expect(await storage.transaction('read', (tx) => tx.getMeta(COUNTER))).toBe('40');
        expect(await other.transaction('read', (tx) => tx.getMeta(COUNTER))).toBe('40');
      });

      it('read-then-insert of the next version is race-free across connections', async (ctx) => {
        const other = await second();
        if (other === undefined) return ctx.skip();
        const P = 'project/app/race';
        const nextVersion = (s: Storage, who: string) =>
          s.transaction('write', async (tx) => {
            const cur = await tx.getSecret(P, 'dev');
            await tick();
            const n = (cur?.currentVersion ?? 0) + 1;
            await tx.insertVersion(version(P, 'dev', n, { actor: who }));
            if (cur === undefined) await tx.insertSecret(secret(P, 'dev'));
            else await tx.updateSecret(P, 'dev', { currentVersion: n });
            return n;
          });
        const got = await Promise.all(
          Array.from({ length: 10 }, (_, i) => [
            nextVersion(storage, `a${i}`),
            nextVersion(other, `b${i}`),
          ]).flat(),
        );
        const oneTo20 = Array.from({ length: 20 }, (_, i) => i + 1);
        expect([...got].sort((a, b) => a - b)).toEqual(oneTo20);
        const versions = await storage.transaction('read', (tx) => tx.listVersions(P, 'dev'));
        expect(versions.map((v) => v.version)).toEqual(oneTo20);
      });
    });
  });
}
