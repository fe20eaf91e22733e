/**
 * The requests of `coffer serve` as the web UI uses them (RequestInbox: waiting, peek, answer,
 * decline by id) and the pruning of old request records, with an injected clock.
 */

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema, throwAwaySchema } from '../../../test/helpers/storage-factories.js';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { openPostgresStorage } from '../../storage/postgres/postgres-storage.js';
import type { CofferError } from '../errors.js';
import { initVault } from '../store/init.js';
import type { Storage } from '../store/storage.js';
import { Vault } from '../store/vault.js';
import {
  MAX_OPEN_REQUESTS,
  MAX_OPEN_REQUESTS_TOTAL,
  REQUEST_TTL_MS,
  WAITING_SHOWN,
} from './secret-requests.js';
import { PRUNE_BATCH, REQUEST_KEEP_MS, StoredSecretRequests } from './stored-requests.js';

const DAY = REQUEST_KEEP_MS;
const VALUE = 'answered-by-id-sentinel-Kd83';

let tv: TestVault;
beforeAll(async () => {
  tv = await makeTestVault();
});
afterAll(async () => {
  tv.vault.close();
  await tv.storage.close();
  rmSync(tv.dir, { recursive: true, force: true });
});

let n = 0;
function input(path = `project/shop/key_${n++}`) {
  return {
    path,
    env: 'dev',
    description: 'Stripe secret key for the shop checkout',
    actor: 'token:agent@10.0.0.7 (mcp:claude-code/2.1)',
    tokenId: 'tok-agent',
    origin: 'https://coffer.test',
  };
}

function clocked(start = Date.parse('2026-03-01T10:00:00Z')) {
  const clock = { now: start };
  const requests = new StoredSecretRequests(tv.vault, () => clock.now);
  return { clock, requests };
}

const code = async (p: Promise<unknown>) =>
  (
    (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as CofferError | undefined
  )?.code;

/** The ids of every request record in the store. */
async function storedIds(): Promise<string[]> {
  const entries = await tv.vault.readTransaction((tx) => tx.listMeta('secret_request:'));
  return entries.map((e) => e.key.slice('secret_request:'.length)).sort();
}

/** Removes every request record and the entries that index them. */
async function clear(): Promise<void> {
  await tv.vault.auditedTransaction('test_clear', async (tx) => {
    for (const e of await tx.listMeta('secret_request')) await tx.deleteMeta(e.key);
    return { result: undefined };
  });
}

const records = () =>
  tv.vault.readTransaction((tx) => tx.listAudit({ afterSeq: 0, limit: 10_000 }));

describe('StoredSecretRequests as an inbox', () => {
  it('lists the requests waiting for a value, oldest first, without the spent or expired', async () => {
    await clear();
    const { clock, requests } = clocked();
    const old = (await requests.create(input())).request;
    clock.now += 1000;
    const answered = (await requests.create(input())).request;
    clock.now += 1000;
    const declined = (await requests.create(input())).request;
    clock.now += 1000;
    const fresh = (await requests.create(input())).request;
    await requests.answer(answered.id, VALUE, tv.vault.withActor('token:alice@10.0.0.9'));
    await requests.declineById(declined.id, 'token:alice@10.0.0.9');
    expect((await requests.waiting()).requests.map((r) => r.id)).toEqual([old.id, fresh.id]);
    clock.now = Date.parse(old.expiresAt);
    expect((await requests.waiting()).requests.map((r) => r.id)).toEqual([fresh.id]);
    expect(await requests.peek(old.id)).toMatchObject({ id: old.id, status: 'pending' });
    expect(await requests.peek('req_000000000000000000000000')).toBeUndefined();
    expect(await requests.peek('not an id')).toBeUndefined();
  });

  it('attack: a value that names other secrets is refused by link and by answer, the link still usable', async () => {
    const { requests } = clocked(Date.now());
    const { request, url } = await requests.create(input());
    const [id, token] = new URL(url).pathname.split('/').slice(2);
    const alice = tv.vault.withActor('token:alice@10.0.0.9');
    for (const v of ['{{ coffer://project/other/api_key }}', 'coffer://project/other/api_key']) {
      expect(await code(requests.submit(id!, token!, v))).toBe('INVALID_VALUE');
      expect(await code(requests.answer(request.id, v, alice))).toBe('INVALID_VALUE');
    }
    expect(await code(tv.vault.get(request.path, 'dev'))).toBe('SECRET_NOT_FOUND');
    expect(await requests.answer(request.id, 'plain-value-7', alice)).toMatchObject({
      status: 'stored',
    });
  });

  it('stores an answer as the answering user, once; the link is spent with it', async () => {
    const { requests } = clocked(Date.now());
    const { request, url } = await requests.create(input());
    const alice = tv.vault.withActor('token:alice@10.0.0.9');
    const done = await requests.answer(request.id, VALUE, alice);
    expect(done).toMatchObject({ status: 'stored', version: 1 });
    expect((await tv.vault.get(request.path, 'dev')).value).toBe(VALUE);
    expect(await requests.status(request.id, 'tok-agent')).toMatchObject({ status: 'stored' });
    expect(await code(requests.answer(request.id, 'second', alice))).toBe('REQUEST_CLOSED');
    expect(await code(requests.declineById(request.id, 'token:bob@10.0.0.8'))).toBe(
      'REQUEST_CLOSED',
    );
    const [id, token] = new URL(url).pathname.split('/').slice(2);
    expect(await code(requests.submit(id!, token!, 'by-link'))).toBe('REQUEST_CLOSED');
    expect((await tv.vault.get(request.path, 'dev')).value).toBe(VALUE);
    const mine = (await records()).filter((r) => r.path === request.path && r.action !== 'get');
    const agent = 'token:agent@10.0.0.7 (mcp:claude-code/2.1)';
    expect(mine.map((r) => `${r.action}:${r.outcome}:${r.actor}`)).toEqual([
      `request_created:ok:${agent}`,
      `request_opened:ok:${agent}`,
      'set:ok:token:alice@10.0.0.9',
      `request_stored:ok:${agent}`,
    ]);
    expect(mine[1]?.detail).toContain('answered by token:alice@10.0.0.9');
    expect(JSON.stringify(await records())).not.toContain(VALUE);
  });

  it("another token's request is not found, and asking for it is audited as a refusal", async () => {
    const { requests } = clocked();
    const { request } = await requests.create(input());
    const denied: string[] = [];
    const deny = async (action: string, _t: unknown, reason: string) => {
      denied.push(`${action}: ${reason}`);
    };
    expect(await code(requests.status(request.id, 'tok-other', deny))).toBe('REQUEST_NOT_FOUND');
    expect(await code(requests.decline(request.id, 'tok-other', 'x', deny))).toBe(
      'REQUEST_NOT_FOUND',
    );
    expect(denied).toEqual([
      `request_status: request ${request.id} belongs to another token`,
      `request_status: request ${request.id} belongs to another token`,
    ]);
    expect((await requests.status(request.id, 'tok-agent')).status).toBe('pending');
  });

  it('a value the vault would refuse leaves the link usable', async () => {
    const { requests } = clocked(Date.now());
    const { request, url } = await requests.create(input());
    const [id, token] = new URL(url).pathname.split('/').slice(2);
    expect(await code(requests.submit(id!, token!, 'x'.repeat(70 * 1024)))).toBe('VALUE_TOO_LARGE');
    expect(await code(requests.submit(id!, token!, 'a\u0000b'))).toBe('INVALID_VALUE');
    expect(await requests.status(request.id, 'tok-agent')).toMatchObject({ status: 'pending' });
    // Not spent: the page still opens, and the request can still be answered.
    await requests.open(id!, token!);
    const alice = tv.vault.withActor('token:alice@10.0.0.9');
    // The web UI's answer is checked the same way before the request is spent.
    expect(await code(requests.answer(request.id, 'x'.repeat(70 * 1024), alice))).toBe(
      'VALUE_TOO_LARGE',
    );
    expect(await requests.answer(request.id, VALUE, alice)).toMatchObject({ status: 'stored' });
  });

  it('spends a request once when two servers answer it at the same time', async () => {
    const { requests } = clocked(Date.now());
    const other = new StoredSecretRequests(tv.vault.withActor('test:other-server'));
    const { request } = await requests.create(input());
    const outcomes = await Promise.allSettled([
      requests.answer(request.id, 'from-server-a', tv.vault.withActor('token:a@1')),
      other.answer(request.id, 'from-server-b', tv.vault.withActor('token:b@2')),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect((lost.reason as CofferError).code).toBe('REQUEST_CLOSED');
    expect((await tv.vault.info(request.path, 'dev')).currentVersion).toBe(1);
  });

  it('refuses an expired request, marking it expired (audited)', async () => {
    const { clock, requests } = clocked(Date.now());
    const { request } = await requests.create(input());
    clock.now += REQUEST_TTL_MS;
    const alice = tv.vault.withActor('token:alice@10.0.0.9');
    expect(await code(requests.answer(request.id, VALUE, alice))).toBe('REQUEST_CLOSED');
    expect(await requests.status(request.id, 'tok-agent')).toMatchObject({ status: 'expired' });
    const mine = (await records()).filter((r) => r.path === request.path);
    expect(mine.map((r) => r.action)).toEqual(['request_created', 'request_expired']);
    expect(await code(tv.vault.get(request.path, 'dev'))).toBe('SECRET_NOT_FOUND');
  });

  /**
   * Requests over a vault whose clock passes the new request's expiry between a check and the
   * spending write (a write lock waited for): the first change the requests make after the
   * check goes through `withActor`.
   */
  async function expiringOnSpend() {
    const clock = { now: Date.now() };
    let expiresAt = 0;
    const slow = new Proxy(tv.vault, {
      get(target, key, receiver) {
        if (key === 'withActor') {
          return (actor: string) => {
            if (expiresAt !== 0) clock.now = expiresAt;
            return target.withActor(actor);
          };
        }
        const v = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Vault;
    const requests = new StoredSecretRequests(slow, () => clock.now);
    const { request, url } = await requests.create(input());
    expiresAt = Date.parse(request.expiresAt);
    return { requests, request, url };
  }

  it('an answer whose check passed just before the expiry, spent after it, is refused and stores nothing', async () => {
    const { requests, request } = await expiringOnSpend();
    const alice = tv.vault.withActor('token:alice@10.0.0.9');
    expect(await code(requests.answer(request.id, VALUE, alice))).toBe('REQUEST_CLOSED');
    expect(await code(tv.vault.get(request.path, 'dev'))).toBe('SECRET_NOT_FOUND');
    expect(await requests.status(request.id, 'tok-agent')).toMatchObject({ status: 'expired' });
    const mine = (await records()).filter((r) => r.path === request.path);
    expect(mine.some((r) => r.action === 'request_opened' && r.outcome === 'ok')).toBe(false);
  });

  it('a link submitted just before the expiry, spent after it, is refused and stores nothing', async () => {
    const { requests, request, url } = await expiringOnSpend();
    const [id, token] = new URL(url).pathname.split('/').slice(2);
    expect(await code(requests.submit(id!, token!, VALUE))).toBe('REQUEST_CLOSED');
    expect(await code(tv.vault.get(request.path, 'dev'))).toBe('SECRET_NOT_FOUND');
    expect(await requests.status(request.id, 'tok-agent')).toMatchObject({ status: 'expired' });
  });

  it('refuses a request record changed outside coffer; the list shows the others and audits it', async () => {
    await clear();
    const { requests } = clocked(Date.now());
    const { request } = await requests.create(input());
    const other = (await requests.create(input())).request;
    const key = `secret_request:${request.id}`;
    await tv.vault.auditedTransaction('test_tamper', async (tx) => {
      const stored = (await tx.getMeta(key))!;
      await tx.setMeta(key, stored.replace('project/shop/', 'project/evil/'));
      return { result: undefined };
    });
    const before = (await records()).length;
    const listed = await requests.waiting();
    expect(listed.requests.map((r) => r.id)).toEqual([other.id]);
    expect(listed.unverifiable).toBe(1);
    expect((await records()).slice(before)).toMatchObject([
      { action: 'request_list', outcome: 'integrity_failure', detail: `INTEGRITY_FAILURE ${key}` },
    ]);
    expect(await code(requests.peek(request.id))).toBe('INTEGRITY_FAILURE');
    expect(await code(requests.answer(request.id, VALUE, tv.vault))).toBe('INTEGRITY_FAILURE');
    await clear();
  });
});

describe('pruning old request records', () => {
  it('deletes, when a request is made, the finished a day ago and the unanswered a day past expiry', async () => {
    await clear();
    const t0 = Date.parse('2026-03-01T10:00:00Z');
    const { clock, requests } = clocked(t0);
    const pending = (await requests.create(input())).request;
    const declined = (await requests.create(input())).request;
    clock.now += 60_000;
    await requests.declineById(declined.id, 'token:alice@10.0.0.9');
    clock.now = t0 + 60_000 + DAY - 1;
    const a = (await requests.create(input())).request;
    expect(await storedIds()).toEqual([pending.id, declined.id, a.id].sort());
    clock.now = t0 + 60_000 + DAY;
    const b = (await requests.create(input())).request;
    expect(await storedIds()).toEqual([pending.id, a.id, b.id].sort());
    const created = (await records()).filter((r) => r.action === 'request_created').at(-1);
    expect(created).toMatchObject({ outcome: 'ok', path: b.path });
    expect(created?.detail).toBe(`request ${b.id}; deleted 1 old request record(s)`);
    clock.now = t0 + REQUEST_TTL_MS + DAY;
    const c = (await requests.create(input())).request;
    expect(await storedIds()).toEqual([a.id, b.id, c.id].sort());
  });

  it('after every new request, exactly the records that are not a day old remain (property)', async () => {
    type Op =
      | { kind: 'create' }
      | { kind: 'wait'; ms: number }
      | { kind: 'answer' | 'decline'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ kind: 'create' as const }),
      fc
        .oneof(
          fc.constantFrom(1, REQUEST_TTL_MS, DAY, DAY - REQUEST_TTL_MS),
          fc.integer({ min: 0, max: 2 * DAY }),
        )
        .map((ms) => ({ kind: 'wait' as const, ms })),
      fc.record({ kind: fc.constantFrom('answer' as const, 'decline' as const), pick: fc.nat() }),
    );
    const alice = tv.vault.withActor('token:alice@10.0.0.9');
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 10 }), async (ops) => {
        await clear();
        const { clock, requests } = clocked();
        // The model: each record's id and when it counts as ended.
        const model = new Map<string, { expires: number; ended?: number }>();
        const endOf = (m: { expires: number; ended?: number }) => m.ended ?? m.expires;
        for (const o of ops) {
          if (o.kind === 'wait') clock.now += o.ms;
          else if (o.kind === 'create') {
            for (const [id, m] of model) if (clock.now >= endOf(m) + DAY) model.delete(id);
            const { request } = await requests.create(input('project/shop/prop_key'));
            model.set(request.id, { expires: Date.parse(request.expiresAt) });
          } else {
            const ids = [...model.keys()];
            if (ids.length === 0) continue;
            const id = ids[o.pick % ids.length]!;
            const m = model.get(id)!;
            const call =
              o.kind === 'answer'
                ? requests.answer(id, VALUE, alice)
                : requests.declineById(id, 'token:alice@10.0.0.9');
            const got = await code(call);
            if (m.ended !== undefined) expect(got).toBe('REQUEST_CLOSED');
            else if (clock.now >= m.expires) {
              expect(got).toBe('REQUEST_CLOSED');
              m.ended = m.expires;
            } else {
              expect(got).toBeUndefined();
              m.ended = clock.now;
            }
          }
          expect(await storedIds()).toEqual([...model.keys()].sort());
        }
      }),
      { numRuns: 25 },
    );
  });
});

// ---- the open-request cap and bounded work, on SQLite and (when set) PostgreSQL ----

const PG_URL = process.env.COFFER_TEST_DATABASE_URL;
if (!PG_URL) {
  console.warn(
    'SKIPPED the PostgreSQL leg of the stored request limits: set COFFER_TEST_DATABASE_URL to run it',
  );
}

/** A fresh vault on `kind`, with a counter of the request rows its transactions read. */
async function limitsVault(kind: 'sqlite' | 'postgres') {
  let vault: Vault;
  let storage: Storage;
  let cleanup: () => Promise<void>;
  if (kind === 'sqlite') {
    const t = await makeTestVault();
    ({ vault, storage } = t);
    cleanup = async () => {
      await t.storage.close();
      rmSync(t.dir, { recursive: true, force: true });
    };
  } else {
    const schema = throwAwaySchema('coffer_requests');
    const pg = await openPostgresStorage(PG_URL!, { schema, create: true, poolSize: 2 });
    const masterKey = new Uint8Array(randomBytes(32));
    await initVault(pg, { masterKey, keySource: 'key', actor: 'test:user' });
    storage = pg;
    vault = new Vault(pg, masterKey, { actor: 'test:user' });
    cleanup = async () => {
      await pg.close();
      await dropPostgresSchema(PG_URL!, schema);
    };
  }
  // The seam: every request row a transaction reads (listed or fetched) is counted.
  let rows = 0;
  const transaction = storage.transaction.bind(storage);
  storage.transaction = ((mode, fn, options) =>
    transaction(
      mode,
      (tx) =>
        fn({
          ...tx,
          listMeta: async (prefix?: string, limit?: number) => {
            const got = await tx.listMeta(prefix, limit);
            if (prefix?.startsWith('secret_request')) rows += got.length;
            return got;
          },
          getMeta: async (key: string) => {
            const got = await tx.getMeta(key);
            if (key.startsWith('secret_request') && got !== undefined) rows++;
            return got;
          },
        }),
      options,
    )) as typeof storage.transaction;
  return {
    vault,
    rowsRead: () => rows,
    async close() {
      vault.close();
      await cleanup();
    },
  };
}

const ask = (tokenId: string, i: number) => ({
  path: `project/shop/key_${i}`,
  env: 'dev',
  description: 'Stripe secret key for the shop checkout',
  actor: `token:${tokenId}@10.0.0.7`,
  tokenId,
  origin: 'https://coffer.test',
});

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !PG_URL)(`open-request limits (${kind})`, () => {
    let lv: Awaited<ReturnType<typeof limitsVault>>;
    beforeAll(async () => {
      lv = await limitsVault(kind);
    });
    afterAll(async () => {
      await lv.close();
    });
    let start = Date.parse('2026-04-01T10:00:00Z');
    /** Requests over the vault with a clock of their own, an hour after the last test's. */
    const fresh = () => {
      start += 2 * REQUEST_KEEP_MS;
      const clock = { now: start };
      return { clock, requests: new StoredSecretRequests(lv.vault, () => clock.now) };
    };
    const refusal = async (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as CofferError,
      );

    it('a token may have MAX_OPEN_REQUESTS waiting; the next is refused (audited), other tokens still ask', async () => {
      const { requests } = fresh();
      for (let i = 0; i < MAX_OPEN_REQUESTS; i++) await requests.create(ask('tok-flood', i));
      const err = await refusal(requests.create(ask('tok-flood', 99)));
      expect(err?.code).toBe('RATE_LIMITED');
      expect(err?.message).toBe(
        `${MAX_OPEN_REQUESTS} secret requests are already waiting for the user`,
      );
      expect(err?.hint).toMatch(/answers or declines them/);
      const last = (
        await lv.vault.readTransaction((tx) => tx.listAudit({ descending: true, limit: 1 }))
      )[0];
      expect(last).toMatchObject({
        action: 'request_created',
        actor: 'token:tok-flood@10.0.0.7',
        path: 'project/shop/key_99',
        detail: 'RATE_LIMITED',
      });
      expect(last?.outcome).not.toBe('ok');
      await requests.create(ask('tok-other', 0));
    });

    it('all tokens together may have MAX_OPEN_REQUESTS_TOTAL waiting', async () => {
      const { requests } = fresh();
      const tokens = MAX_OPEN_REQUESTS_TOTAL / MAX_OPEN_REQUESTS;
      for (let t = 0; t < tokens; t++) {
        for (let i = 0; i < MAX_OPEN_REQUESTS; i++) await requests.create(ask(`tok-${t}`, i));
      }
      const err = await refusal(requests.create(ask('tok-late', 0)));
      expect(err?.code).toBe('RATE_LIMITED');
      expect(err?.message).toMatch(/of all agents are already waiting/);
    });

    it('an answered, declined or expired request frees its slot', async () => {
      const { clock, requests } = fresh();
      const made = [];
      for (let i = 0; i < MAX_OPEN_REQUESTS; i++) {
        made.push((await requests.create(ask('tok-a', i))).request);
      }
      expect((await refusal(requests.create(ask('tok-a', 50))))?.code).toBe('RATE_LIMITED');
      await requests.answer(made[0]!.id, VALUE, lv.vault.withActor('token:alice@10.0.0.9'));
      await requests.create(ask('tok-a', 51));
      await requests.declineById(made[1]!.id, 'token:alice@10.0.0.9');
      await requests.decline(made[2]!.id, 'tok-a', 'the client');
      await requests.create(ask('tok-a', 52));
      await requests.create(ask('tok-a', 53));
      expect((await refusal(requests.create(ask('tok-a', 54))))?.code).toBe('RATE_LIMITED');
      // Ten minutes on, every one of them has expired, unanswered and unread.
      clock.now += REQUEST_TTL_MS;
      for (let i = 0; i < MAX_OPEN_REQUESTS; i++) await requests.create(ask('tok-a', 100 + i));
      expect((await requests.waiting()).requests).toHaveLength(MAX_OPEN_REQUESTS);
    });

    it('a new request reads a bounded number of request rows however many records there are', async () => {
      const { clock, requests } = fresh();
      // 150 finished requests (a token that asks and withdraws, over and over).
      const records = 150;
      for (let i = 0; i < records; i++) {
        const { request } = await requests.create(ask('tok-churn', i));
        await requests.decline(request.id, 'tok-churn', 'the client');
      }
      let before = lv.rowsRead();
      await requests.create(ask('tok-churn', 1000));
      // None is due: the due entries listed (at most a batch), the open entries, the index.
      expect(lv.rowsRead() - before).toBeLessThanOrEqual(PRUNE_BATCH + 3);
      // A day on, all are due: each new request deletes a batch, reading each once.
      clock.now += REQUEST_KEEP_MS + REQUEST_TTL_MS;
      const creates = Math.ceil((records + 1) / PRUNE_BATCH) + 1;
      for (let i = 0; i < creates; i++) {
        before = lv.rowsRead();
        await requests.create(ask('tok-churn', 2000 + i));
        expect(lv.rowsRead() - before).toBeLessThanOrEqual(2 * PRUNE_BATCH + 3);
      }
      const left = await lv.vault.readTransaction((tx) => tx.listMeta('secret_request:'));
      const mine = left.filter((m) => m.value.includes('tok-churn'));
      expect(mine).toHaveLength(creates);
    });

    it('the web UI is shown the newest WAITING_SHOWN waiting requests and how many more wait, reading only open ones', async () => {
      const { clock, requests } = fresh();
      const ids: string[] = [];
      for (let i = 0; i < WAITING_SHOWN + 30; i++) {
        clock.now += 1;
        const token = `tok-ui-${Math.floor(i / MAX_OPEN_REQUESTS)}`;
        ids.push((await requests.create(ask(token, i))).request.id);
      }
      const before = lv.rowsRead();
      const { requests: shown, more } = await requests.waiting();
      expect(shown.map((r) => r.id)).toEqual(ids.slice(-WAITING_SHOWN));
      expect(more).toBe(30);
      // The open entries and their records, never the finished records of earlier tests.
      expect(lv.rowsRead() - before).toBeLessThanOrEqual(2 * ids.length + 1);
      const only = await requests.waiting((r) => r.actor === 'token:tok-ui-0@10.0.0.7');
      expect(only.requests.map((r) => r.id)).toEqual(ids.slice(0, MAX_OPEN_REQUESTS));
      expect(only.more).toBe(0);
    });
  });
}
