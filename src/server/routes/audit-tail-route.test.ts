/**
 * A cut audit tail on a running server: every audited request fails closed with the
 * integrity error (HTTP 500, AUDIT_CHAIN_BROKEN), never a value; `/v1/audit/verify` reports
 * the break, and after an operator acknowledges it locally, the acknowledged break.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  expectError,
  type Kit,
  makeKit,
  SENTINEL,
  seed,
} from '../../../test/helpers/server-kit.js';
import { acknowledgeAuditBreak } from '../../core/audit/acknowledge.js';

const APP = 'project/app/db_url';

let kit: Kit;
beforeEach(async () => {
  kit = await makeKit();
  await seed(kit, APP, SENTINEL);
});
afterEach(async () => {
  await kit.dispose();
});

describe('a cut audit tail behind a running server', () => {
  it('refuses audited requests until acknowledged; verify reports the break, then lists it', async () => {
    const t = { token: kit.tokens.admin };
    const db = new Database(kit.file);
    let end: number;
    try {
      end = (db.prepare('SELECT MAX(seq) AS m FROM audit').get() as { m: number }).m;
      db.prepare('DELETE FROM audit WHERE seq = ?').run(end);
    } finally {
      db.close();
    }
    expectError(await kit.send('GET', `/v1/secrets/${APP}`, t), 500, 'AUDIT_CHAIN_BROKEN');
    expectError(await kit.send('GET', '/v1/secrets?prefix=project', t), 500, 'AUDIT_CHAIN_BROKEN');
    const broken = await kit.send('GET', '/v1/audit/verify', t);
    expect(broken.status).toBe(200);
    expect(broken.json).toMatchObject({ ok: false, firstBroken: { seq: end }, acknowledged: [] });

    await acknowledgeAuditBreak(kit.vault, 'cut on purpose in a test');
    const read = await kit.send('GET', `/v1/secrets/${APP}`, t);
    expect(read.status).toBe(200);
    expect(read.json.value).toBe(SENTINEL);
    const intact = await kit.send('GET', '/v1/audit/verify', t);
    expect(intact.json).toMatchObject({
      ok: true,
      head: 'authenticated',
      acknowledged: [
        {
          seq: end,
          reason: 'cut on purpose in a test',
          storedHead: { seq: end },
          tableEnd: { seq: end - 1 },
        },
      ],
    });
  });
});
