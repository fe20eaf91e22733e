/**
 * The web UI's audit views over a long log: the audit page with a path filter and the audit
 * list of a secret's page read a bounded part of the log, in a read transaction per page and
 * never by path in the storage (no index holds audit paths: such a read covers the whole log
 * in one statement, while every other request waits), and link to where they stopped. The
 * chain check the audit page shows is one walk of the log reused while its head stays.
 */
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { withListAudit } from '../../../test/helpers/audit-reads.js';
import { type Kit, makeKit, SENTINEL, seed } from '../../../test/helpers/server-kit.js';
import { type UiSession, uiClient } from '../../../test/helpers/ui-session.js';
import { AUDIT_SCAN_MIN } from '../../core/access/audit-access.js';
import { CHAIN_CHECK_REUSE_MS } from '../../core/audit/chain-check.js';
import type { StorageTx } from '../../core/store/storage.js';
import { Vault } from '../../core/store/vault.js';

const RARE = 'meta/ci/deploy_key';
const OTHER = 'project/other/db_url';

/** The storage reads of the audit log while `fn` runs, by every Vault (sessions act as theirs). */
async function auditReads<T>(fn: () => Promise<T>) {
  const reads = { byPath: 0, mostRows: 0 };
  const original = Vault.prototype.readTransaction;
  const spy = vi.spyOn(Vault.prototype, 'readTransaction').mockImplementation(function (
    this: Vault,
    inner,
  ) {
    return original.call(this, (tx, keyring) => {
      let rows = 0;
      const listAudit: StorageTx['listAudit'] = async (q) => {
        if (q.path !== undefined) reads.byPath++;
        const found = await tx.listAudit(q);
        rows += found.length;
        reads.mostRows = Math.max(reads.mostRows, rows);
        return found;
      };
      return inner(withListAudit(tx, listAudit), keyring);
    });
  });
  try {
    return { result: await fn(), reads };
  } finally {
    spy.mockRestore();
  }
}

/** The "Older records" link of a page, as a path to request. */
function olderLink(html: string): string | undefined {
  const href = /<a href="(\/audit\?[^"]*)">Older records<\/a>/.exec(html)?.[1];
  return href?.replaceAll('&amp;', '&');
}

/** The seq of each record row of a page's audit table. */
function rowSeqs(html: string): number[] {
  return [...html.matchAll(/<tr class="outcome-\w+"><td>(\d+)<\/td>/g)].map((m) => Number(m[1]));
}

describe('audit views over a long log', () => {
  let kit: Kit;
  let admin: UiSession;
  /** The seq of the one record of RARE (its set), far below the newest records. */
  let rareSeq: number;

  beforeAll(async () => {
    // A clock that stands still: the chain check walked below is reused throughout.
    const t0 = new Date();
    kit = await makeKit({ now: () => t0 });
    await seed(kit, RARE, SENTINEL);
    rareSeq = (await kit.vault.readTransaction((tx) => tx.lastAudit()))!.seq;
    await seed(kit, OTHER, SENTINEL);
    const reads = Array.from({ length: 2000 }, () => ({ path: OTHER, env: 'dev' }));
    for (let i = 0; i < 3; i++) await kit.vault.getMany(reads);
    admin = await uiClient(kit).login(kit.tokens.admin);
    // The chain check (a walk of the whole log) is done once here, not in the reads counted.
    expect((await admin.get('/audit')).text).toContain('Verified: ');
  });

  afterAll(async () => {
    await kit?.dispose();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('the audit page filtered by a rare path reads a bounded part of the log and links on', async () => {
    const newest = (await kit.vault.readTransaction((tx) => tx.lastAudit()))!.seq;
    expect(newest - rareSeq).toBeGreaterThan(AUDIT_SCAN_MIN);
    const { result: first, reads } = await auditReads(() => admin.get(`/audit?path=${RARE}`));
    expect(first.status).toBe(200);
    // Never one read by path, and no transaction reads more than a page of the log.
    expect(reads.byPath).toBe(0);
    expect(reads.mostRows).toBeLessThanOrEqual(500);
    expect(rowSeqs(first.text)).toEqual([]);
    const stop = newest - AUDIT_SCAN_MIN + 1;
    expect(first.text).toContain(
      `Read the log down to record ${stop}; older records may match too.`,
    );
    const next = olderLink(first.text);
    expect(next).toBe(`/audit?path=${encodeURIComponent(RARE)}&before=${stop}`);
    // The next page goes on where the first stopped, and finds the record.
    const second = await admin.get(next!);
    expect(rowSeqs(second.text)).toEqual([rareSeq]);
    expect(olderLink(second.text)).toBeUndefined();
    expect(second.text).not.toContain('Read the log down to');
    expect(second.text).not.toContain(SENTINEL);
  });

  it("a secret's page lists its newest records from a bounded read, and links to the older ones", async () => {
    const { result: page, reads } = await auditReads(() => admin.get(`/s/${RARE}?env=dev`));
    expect(page.status).toBe(200);
    expect(reads.byPath).toBe(0);
    expect(reads.mostRows).toBeLessThanOrEqual(500);
    expect(rowSeqs(page.text)).not.toContain(rareSeq);
    expect(page.text).toContain('older records may match too.');
    const next = olderLink(page.text);
    expect(next).toMatch(new RegExp(`^/audit\\?path=${encodeURIComponent(RARE)}&before=\\d+$`));
    expect(rowSeqs((await admin.get(next!)).text)).toContain(rareSeq);
  });

  it('the unfiltered audit page shows the newest records, then the older ones', async () => {
    const newest = (await kit.vault.readTransaction((tx) => tx.lastAudit()))!.seq;
    const first = await admin.get('/audit');
    const seqs = rowSeqs(first.text);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => newest - i));
    // A full page: no word about where the read stopped.
    expect(first.text).not.toContain('Read the log down to');
    const next = olderLink(first.text);
    expect(next).toBe(`/audit?before=${newest - 99}`);
    expect(rowSeqs((await admin.get(next!)).text)[0]).toBe(newest - 100);
  });
});

describe("the audit page's chain check", () => {
  let kit: Kit;
  let clock = Date.now();

  beforeAll(async () => {
    kit = await makeKit({ now: () => new Date(clock) });
    await seed(kit, OTHER, SENTINEL);
  });

  afterAll(async () => {
    await kit?.dispose();
  });

  it('is reused while the head stays, for a bounded time; the API checks the log as it is', async () => {
    const admin = await uiClient(kit).login(kit.tokens.admin);
    const verified = /Verified: (\d+) records, none changed, removed or reordered\./;
    const first = await admin.get('/audit');
    expect(first.text).toMatch(verified);
    const db = new Database(kit.file);
    try {
      db.prepare("UPDATE audit SET actor = 'someone-else' WHERE seq = 3").run();
    } finally {
      db.close();
    }
    // Paging and filtering do not walk the log again while its head stays...
    clock += CHAIN_CHECK_REUSE_MS - 1;
    expect((await admin.get('/audit?outcome=ok')).text).toMatch(verified);
    // ...for at most a minute.
    clock += 1;
    const later = await admin.get('/audit');
    expect(later.text).toContain('The chain is broken: record 3');
    const api = await kit.send('GET', '/v1/audit/verify', { token: kit.tokens.admin });
    expect(api.json).toMatchObject({ ok: false, firstBroken: { seq: 3 } });
  });
});
