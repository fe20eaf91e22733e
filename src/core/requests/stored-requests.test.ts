/**
 * The requests of `coffer serve` as the web UI uses them (RequestInbox: waiting, peek, answer,
 * decline by id) and the pruning of old request records, with an injected clock.
 */
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import type { CofferError } from '../errors.js';
import { REQUEST_TTL_MS } from './secret-requests.js';
import { REQUEST_KEEP_MS, StoredSecretRequests } from './stored-requests.js';

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

async function clear(): Promise<void> {
  await tv.vault.auditedTransaction('test_clear', async (tx) => {
    for (const e of await tx.listMeta('secret_request:')) await tx.deleteMeta(e.key);
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
