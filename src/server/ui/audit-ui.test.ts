/**
 * The web UI's audit views: the chain check the audit page shows is one walk of the log
 * reused while its head stays.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Kit, makeKit, SENTINEL, seed } from '../../../test/helpers/server-kit.js';
import { uiClient } from '../../../test/helpers/ui-session.js';
import { CHAIN_CHECK_REUSE_MS } from '../../core/audit/chain-check.js';

const OTHER = 'project/other/db_url';

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
