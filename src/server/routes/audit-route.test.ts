/**
 * `/v1/audit` and `/v1/audit/verify` in process: admin tokens only, paging, the chain check,
 * a tampered log.
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

const APP = 'project/app/db_url';

let kit: Kit;
beforeEach(async () => {
  kit = await makeKit();
  await seed(kit, APP, SENTINEL);
  await seed(kit, 'project/app/api_key', SENTINEL);
});
afterEach(async () => {
  await kit.dispose();
});

type Rec = { seq: number; actor: string; action: string; path: string | null; hash: string };

describe('GET /v1/audit', () => {
  it('pages the records oldest first, never with values', async () => {
    const t = { token: kit.tokens.admin };
    await kit.send('GET', `/v1/secrets/${APP}`, t);
    const all = await kit.send('GET', '/v1/audit', t);
    expect(all.status).toBe(200);
    expect(all.text).not.toContain(SENTINEL);
    const items = all.json.items as Rec[];
    expect(items.length).toBeGreaterThan(10); // init, 9 token_create, 1 revoke, 2 set, 1 get
    expect(items.map((r) => r.seq)).toEqual(items.map((_, i) => i + 1));
    expect(items.at(-1)).toMatchObject({ action: 'get', actor: 'token:admin@127.0.0.1' });
    const page = await kit.send('GET', '/v1/audit?afterSeq=3&limit=2', t);
    expect((page.json.items as Rec[]).map((r) => r.seq)).toEqual([4, 5]);
    const byPath = await kit.send('GET', `/v1/audit?path=${APP}`, t);
    const paths = (byPath.json.items as Rec[]).map((r) => `${r.action} ${r.path}`);
    expect(paths).toEqual([`set ${APP}`, `get ${APP}`]);
    const past = await kit.send('GET', '/v1/audit?afterSeq=100000', t);
    expect(past.json).toEqual({ items: [] });
  });

  it('400 for bad paging parameters', async () => {
    const t = { token: kit.tokens.admin };
    for (const q of ['afterSeq=-1', 'afterSeq=x', 'limit=0', 'limit=1001', 'limit=1.5', 'seq=1']) {
      expectError(await kit.send('GET', `/v1/audit?${q}`, t), 400, 'INVALID_ARGUMENT');
    }
  });

  it('403 for every token without admin; 401 for expired and revoked ones', async () => {
    const { admin: _admin, expired, revoked, ...others } = kit.tokens;
    for (const token of Object.values(others)) {
      expectError(await kit.send('GET', '/v1/audit', { token }), 403, 'FORBIDDEN');
      expectError(await kit.send('GET', '/v1/audit/verify', { token }), 403, 'FORBIDDEN');
    }
    for (const token of [expired, revoked]) {
      expectError(await kit.send('GET', '/v1/audit', { token }), 401, 'UNAUTHENTICATED');
      expectError(await kit.send('GET', '/v1/audit/verify', { token }), 401, 'UNAUTHENTICATED');
    }
  });
});

describe('GET /v1/audit/verify', () => {
  it('checks the chain, and names the first broken record after tampering', async () => {
    const t = { token: kit.tokens.admin };
    const ok = await kit.send('GET', '/v1/audit/verify', t);
    expect(ok.status).toBe(200);
    expect(ok.json.ok).toBe(true);
    expect(ok.json.checked).toBeGreaterThan(10);
    expect(ok.json.firstBroken).toBeUndefined();
    const db = new Database(kit.file);
    try {
      db.prepare("UPDATE audit SET actor = 'someone-else' WHERE seq = 3").run();
    } finally {
      db.close();
    }
    const bad = await kit.send('GET', '/v1/audit/verify', t);
    expect(bad.status).toBe(200);
    expect(bad.json).toMatchObject({ ok: false, firstBroken: { seq: 3 } });
    expectError(await kit.send('GET', '/v1/audit/verify?full=1', t), 400, 'INVALID_ARGUMENT');
  });
});
