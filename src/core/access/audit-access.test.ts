/**
 * Reading the audit log within a policy: a request reads a bounded part of the log, in read
 * transactions of its own page each, and answers with a cursor; following the cursors gives
 * exactly the records the policy may see.
 */
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withListAudit } from '../../../test/helpers/audit-reads.js';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { readAudit } from '../audit/log.js';
import type { Vault } from '../store/vault.js';
import {
  AUDIT_SCAN_MIN,
  type AuditFilter,
  auditRecordVisible,
  auditScanLimit,
  readAuditNewestWithin,
  readAuditWithin,
} from './audit-access.js';
import { AccessPolicy } from './policy.js';

const DESCRIPTION = 'Database URL for the billing worker';
const OTHER = 'project/other/db_url';

let tv: TestVault;
beforeAll(async () => {
  tv = await makeTestVault('cli:owner');
  const { vault } = tv;
  for (const [path, env] of [
    ['project/app/db_url', 'dev'],
    ['project/app/db_url', 'prod'],
    [OTHER, 'dev'],
    ['meta/ci/token', 'dev'],
  ] as const) {
    await vault.set(path, env, 'value', { description: DESCRIPTION });
  }
  // A long stretch of another project's reads, with a few of app's and records without a
  // path or an environment among them.
  for (let i = 0; i < 6; i++) {
    await vault.getMany(Array.from({ length: 400 }, () => ({ path: OTHER, env: 'dev' })));
    await vault.get('project/app/db_url', i % 2 === 0 ? 'dev' : 'prod');
    await vault.withActor('token:x@127.0.0.1').recordDenied('authenticate', {}, 'unknown');
    await vault.list({ prefix: 'project/app' });
  }
});
afterAll(async () => {
  tv.vault.close();
  await tv.storage.close();
  rmSync(tv.dir, { recursive: true, force: true });
});

const policyOf = (allow: string[], envs: string[] = []) =>
  new AccessPolicy({ allow, envs, caps: ['admin', 'read'] });

/** Policies from the widest to one that sees nothing, for the cursor properties. */
const POLICIES = [
  policyOf(['**']),
  policyOf(['project/app/*']),
  policyOf(['project/app/*'], ['prod']),
  policyOf(['meta/**'], ['dev']),
  policyOf(['project/nothing/*']),
];

/**
 * Counts the read transactions and the audit rows read while `fn` runs, and the storage reads
 * asked for one path (no index holds audit paths: such a read may cover the whole log).
 */
async function counting<T>(vault: Vault, fn: () => Promise<T>) {
  const reads = { transactions: 0, rows: 0, byPath: 0 };
  const original = vault.readTransaction.bind(vault);
  const spy = vi.spyOn(vault, 'readTransaction').mockImplementation((inner) => {
    reads.transactions++;
    return original((tx, keyring) => {
      return inner(
        withListAudit(tx, async (q) => {
          const rows = await tx.listAudit(q);
          reads.rows += rows.length;
          if (q.path !== undefined) reads.byPath++;
          return rows;
        }),
        keyring,
      );
    });
  });
  try {
    return { result: await fn(), reads };
  } finally {
    spy.mockRestore();
  }
}

/** Every record `policy` may read, as an unrestricted read of the whole log filtered. */
async function everyVisible(policy: AccessPolicy, path?: string, filter: AuditFilter = {}) {
  const all = await readAudit(tv.vault, { limit: 1_000_000 });
  return all
    .filter(
      (r) =>
        (path === undefined || r.path === path) &&
        (filter.actor === undefined || r.actor.includes(filter.actor)) &&
        (filter.action === undefined || r.action === filter.action) &&
        (filter.outcome === undefined || r.outcome === filter.outcome) &&
        auditRecordVisible(policy, r),
    )
    .map((r) => r.seq);
}

/** Follows the cursors from the start; the seqs returned and the pages asked for. */
async function followCursors(
  policy: AccessPolicy,
  query: { limit: number; scanLimit?: number; path?: string },
) {
  const seqs: number[] = [];
  let after = 0;
  let pages = 0;
  for (;;) {
    pages++;
    const page = await readAuditWithin(tv.vault, policy, { ...query, afterSeq: after });
    expect(page.records.length).toBeLessThanOrEqual(query.limit);
    seqs.push(...page.records.map((r) => r.seq));
    if (page.nextAfterSeq === null) return { seqs, pages };
    expect(page.nextAfterSeq).toBeGreaterThan(after);
    after = page.nextAfterSeq;
  }
}

describe('readAuditWithin', () => {
  it('reads at most its scan limit for a policy that sees none of it, and says where to go on', async () => {
    const none = policyOf(['project/nothing/*']);
    const { result, reads } = await counting(tv.vault, () =>
      readAuditWithin(tv.vault, none, { afterSeq: 0, limit: 10, scanLimit: 700 }),
    );
    expect(result).toEqual({ records: [], nextAfterSeq: 700 });
    expect(reads.rows).toBe(700);
    // One read transaction per page, never one for the whole request.
    expect(reads.transactions).toBe(2);
    const next = await readAuditWithin(tv.vault, none, {
      afterSeq: 700,
      limit: 10,
      scanLimit: 700,
    });
    expect(next).toEqual({ records: [], nextAfterSeq: 1400 });
  });

  it('reads max(10 x limit, 5,000) records by default', async () => {
    expect(auditScanLimit(1)).toBe(AUDIT_SCAN_MIN);
    expect(auditScanLimit(100)).toBe(5_000);
    expect(auditScanLimit(1000)).toBe(10_000);
    const total = (await readAudit(tv.vault, { limit: 1 }))[0]!.seq;
    expect(total).toBeGreaterThan(2_000);
    const none = policyOf(['project/nothing/*']);
    const { result, reads } = await counting(tv.vault, () =>
      readAuditWithin(tv.vault, none, { afterSeq: 0, limit: 100 }),
    );
    // The whole log is shorter than the limit: read once, and its end is reported.
    expect(result).toEqual({ records: [], nextAfterSeq: null });
    expect(reads.rows).toBe(total);
  });

  it('following the cursors returns exactly what an unrestricted read filtered would', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...POLICIES),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 900 }),
        fc.constantFrom(undefined, 'project/app/db_url', OTHER, 'project/app'),
        async (policy, limit, scanLimit, path) => {
          const query = path === undefined ? { limit, scanLimit } : { limit, scanLimit, path };
          const { seqs } = await followCursors(policy, query);
          expect(seqs).toEqual(await everyVisible(policy, path));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('gives the hashes only to a policy that may read the whole chain', async () => {
    const all = await readAuditWithin(tv.vault, policyOf(['**']), { afterSeq: 0, limit: 3 });
    expect(all.records.map((r) => 'hash' in r)).toEqual([true, true, true]);
    expect(all.nextAfterSeq).toBe(3);
    const app = await readAuditWithin(tv.vault, policyOf(['project/app/*']), {
      afterSeq: 0,
      limit: 3,
    });
    expect(app.records.length).toBe(3);
    expect(app.records.some((r) => 'hash' in r || 'prevHash' in r)).toBe(false);
  });

  it('lets other transactions run between its pages', async () => {
    const none = policyOf(['project/nothing/*']);
    const original = tv.vault.readTransaction.bind(tv.vault);
    let calls = 0;
    let written = 0;
    const spy = vi.spyOn(tv.vault, 'readTransaction').mockImplementation(async (inner) => {
      // Before every page but the first, a write: it would wait for ever (SQLite serializes
      // transactions) if the request held one transaction across its pages.
      if (calls++ > 0) {
        await tv.vault.set('project/app/between', 'dev', `v${calls}`, {
          description: DESCRIPTION,
        });
        written++;
      }
      return original(inner);
    });
    try {
      const page = await readAuditWithin(tv.vault, none, {
        afterSeq: 0,
        limit: 10,
        scanLimit: 1500,
      });
      expect(page.nextAfterSeq).toBe(1500);
      expect(written).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('readAuditNewestWithin', () => {
  /** Follows the cursors from the newest record back to the start; the seqs returned. */
  async function followBack(
    policy: AccessPolicy,
    query: AuditFilter & { limit: number; scanLimit?: number },
  ) {
    const seqs: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await readAuditNewestWithin(tv.vault, policy, { ...query, beforeSeq: before });
      expect(page.records.length).toBeLessThanOrEqual(query.limit);
      seqs.push(...page.records.map((r) => r.seq));
      if (page.nextBeforeSeq === null) return seqs;
      if (before !== undefined) expect(page.nextBeforeSeq).toBeLessThan(before);
      before = page.nextBeforeSeq;
    }
  }

  it('reads at most its scan limit from the newest record, in transactions of a page each', async () => {
    const none = policyOf(['project/nothing/*']);
    const total = (await readAudit(tv.vault, { limit: 1 }))[0]!.seq;
    const { result, reads } = await counting(tv.vault, () =>
      readAuditNewestWithin(tv.vault, none, { limit: 10, scanLimit: 700 }),
    );
    expect(result).toEqual({ records: [], nextBeforeSeq: total - 699 });
    expect(reads).toEqual({ transactions: 2, rows: 700, byPath: 0 });
    // A rare path is filtered here too: the storage is never asked for it.
    const rare = await counting(tv.vault, () =>
      readAuditNewestWithin(tv.vault, policyOf(['**']), {
        limit: 10,
        path: 'meta/ci/token',
        scanLimit: 700,
      }),
    );
    expect(rare.result).toEqual({ records: [], nextBeforeSeq: total - 699 });
    expect(rare.reads).toEqual({ transactions: 2, rows: 700, byPath: 0 });
  });

  it('reports the start of the log: no cursor once record 1 is read', async () => {
    const all = policyOf(['**']);
    expect(await readAuditNewestWithin(tv.vault, all, { beforeSeq: 4, limit: 10 })).toMatchObject({
      nextBeforeSeq: null,
    });
    const three = await readAuditNewestWithin(tv.vault, all, { beforeSeq: 4, limit: 3 });
    expect(three.records.map((r) => r.seq)).toEqual([3, 2, 1]);
    expect(three.nextBeforeSeq).toBeNull();
    const two = await readAuditNewestWithin(tv.vault, all, { beforeSeq: 4, limit: 2 });
    expect(two).toMatchObject({ nextBeforeSeq: 2 });
    expect(
      await readAuditNewestWithin(tv.vault, all, { beforeSeq: 3, limit: 10, scanLimit: 2 }),
    ).toMatchObject({ nextBeforeSeq: null });
  });

  it('following the cursors back returns exactly what an unrestricted read filtered would, newest first', async () => {
    const filters: AuditFilter[] = [
      {},
      { path: 'project/app/db_url' },
      { path: OTHER },
      { path: 'project/app' },
      { action: 'get' },
      { outcome: 'denied' },
      { actor: 'token:x' },
      { path: 'project/app/db_url', action: 'get', outcome: 'ok', actor: 'owner' },
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...POLICIES),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 900 }),
        fc.constantFrom(...filters),
        async (policy, limit, scanLimit, filter) => {
          const seqs = await followBack(policy, { ...filter, limit, scanLimit });
          const { path, ...rest } = filter;
          expect(seqs).toEqual((await everyVisible(policy, path, rest)).reverse());
        },
      ),
      { numRuns: 30 },
    );
  });

  it('refuses a limit or scan limit below 1 before it reads', async () => {
    const all = policyOf(['**']);
    for (const q of [{ limit: 0 }, { limit: 1.5 }, { limit: 5, scanLimit: 0 }]) {
      await expect(readAuditNewestWithin(tv.vault, all, q)).rejects.toThrow(RangeError);
      await expect(readAuditWithin(tv.vault, all, { afterSeq: 0, ...q })).rejects.toThrow(
        RangeError,
      );
    }
  });
});
