/**
 * `/v1/audit` and `/v1/audit/verify` in process: admin tokens only, paging, the chain check,
 * a tampered log; a narrow admin over a long log gets bounded pages with a cursor, which the
 * client follows.
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
import { createClient } from '../../client/client.js';
import { clientSecretsService } from '../../client/service.js';
import { AUDIT_SCAN_MIN, auditRecordVisible } from '../../core/access/audit-access.js';
import { AccessPolicy } from '../../core/access/policy.js';
import { createToken } from '../../core/access/tokens.js';
import { readAudit } from '../../core/audit/log.js';

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
    expect(past.json).toEqual({ items: [], nextAfterSeq: null });
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

describe('GET /v1/audit for a token that sees little of a long log', () => {
  const OTHER = 'project/other/db_url';
  const NARROW = { allow: ['project/app/*'], envs: [], caps: ['admin', 'read'] as const };

  it('reads a bounded part of the log per request and answers with a cursor the client follows', async () => {
    await seed(kit, OTHER, SENTINEL);
    const reads = Array.from({ length: 2000 }, () => ({ path: OTHER, env: 'dev' }));
    for (let i = 0; i < 3; i++) await kit.vault.getMany(reads);
    await kit.vault.get(APP, 'dev');
    // Long enough that one request's whole scan finds nothing of app's.
    for (let i = 0; i < 5; i++) await kit.vault.getMany(reads);
    await kit.vault.get(APP, 'dev');
    const { token } = await createToken(kit.vault, { name: 'app-admin', ...NARROW });
    const total = (await readAudit(kit.vault, { limit: 1 }))[0]!.seq;
    expect(total).toBeGreaterThan(3 * AUDIT_SCAN_MIN);
    const policy = new AccessPolicy(NARROW);
    const visible = (await readAudit(kit.vault, { limit: 1_000_000 }))
      .filter((r) => auditRecordVisible(policy, r))
      .map((r) => r.seq);
    expect(visible.length).toBe(4); // two sets, two gets of app's secrets

    // The first request stops after the scan cap, with the two sets it found and a cursor.
    const first = await kit.send('GET', '/v1/audit?limit=10', { token });
    expect(first.status).toBe(200);
    expect((first.json.items as Rec[]).map((r) => r.seq)).toEqual(visible.slice(0, 2));
    expect(first.json.nextAfterSeq).toBe(AUDIT_SCAN_MIN);
    const second = await kit.send('GET', `/v1/audit?limit=10&afterSeq=${AUDIT_SCAN_MIN}`, {
      token,
    });
    expect((second.json.items as Rec[]).map((r) => r.seq)).toEqual(visible.slice(2, 3));
    expect(second.json.nextAfterSeq).toBe(2 * AUDIT_SCAN_MIN);
    // A page may be empty before the end: the cursor, not the page, says whether to go on.
    const empty = await kit.send('GET', `/v1/audit?limit=10&afterSeq=${2 * AUDIT_SCAN_MIN}`, {
      token,
    });
    expect(empty.json).toEqual({ items: [], nextAfterSeq: 3 * AUDIT_SCAN_MIN });
    const last = await kit.send('GET', `/v1/audit?limit=10&afterSeq=${3 * AUDIT_SCAN_MIN}`, {
      token,
    });
    expect((last.json.items as Rec[]).map((r) => r.seq)).toEqual(visible.slice(3));
    expect(last.json.nextAfterSeq).toBeNull();

    const client = createClient({
      url: 'http://127.0.0.1:8700',
      token,
      fetch: (url, init) =>
        Promise.resolve(
          kit.app.request(String(url), init as RequestInit, {
            incoming: { socket: { remoteAddress: '127.0.0.1' } },
          }),
        ),
    });
    // The client's audit follows the cursors past the empty page; so does remote `coffer audit`.
    expect((await client.audit({ limit: 3 })).map((r) => r.seq)).toEqual(visible.slice(0, 3));
    expect((await client.audit({ afterSeq: 2, limit: 100 })).map((r) => r.seq)).toEqual(
      visible.filter((s) => s > 2),
    );
    const remote = clientSecretsService(client);
    expect((await remote.audit({ limit: 100 })).map((r) => r.seq)).toEqual(visible);
    expect((await remote.audit({ limit: 2, path: APP })).map((r) => r.seq)).toEqual(
      visible.slice(2),
    );
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
