import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import {
  MAX_OPEN_REQUESTS,
  REQUEST_TTL_MS,
  type RequestOutcome,
  SecretRequests,
} from './secret-requests.js';

const INPUT = {
  path: 'project/shop/stripe_key',
  env: 'dev',
  description: 'Stripe secret key for the shop checkout',
  actor: 'mcp:claude-code/1.0',
};

function setup(storeFails = false) {
  let now = 1_000_000;
  const stored: { path: string; value: string }[] = [];
  const audit: { outcome: RequestOutcome; detail: string; json: string }[] = [];
  const requests = new SecretRequests({
    now: () => now,
    async store(r, value) {
      if (storeFails) throw new CofferError('INVALID_DESCRIPTION', 'the description says nothing');
      stored.push({ path: r.path, value });
      return { version: 3 };
    },
    async audit(r, outcome, detail) {
      audit.push({ outcome, detail, json: JSON.stringify(r) });
    },
  });
  return { requests, stored, audit, tick: (ms: number) => (now += ms) };
}

const code = async (p: Promise<unknown>) =>
  ((await p.catch((e: unknown) => e)) as CofferError).code;

describe('SecretRequests', () => {
  it('opens, stores once, and never keeps the value or the token', async () => {
    const { requests, stored, audit } = setup();
    const { request, token } = requests.create(INPUT);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
    expect(JSON.stringify(request)).not.toContain(token);
    expect((await requests.open(token)).status).toBe('opened');
    const done = await requests.submit(token, 'sk_live_value_1');
    expect(done).toMatchObject({ status: 'stored', version: 3 });
    expect(stored).toEqual([{ path: INPUT.path, value: 'sk_live_value_1' }]);
    expect(audit.map((a) => a.outcome)).toEqual(['opened', 'stored']);
    expect(JSON.stringify(await requests.status(request.id))).not.toContain('sk_live_value_1');
    for (const a of audit) expect(a.json + a.detail).not.toContain('sk_live_value_1');
    expect(await code(requests.submit(token, 'again'))).toBe('REQUEST_CLOSED');
    expect(await code(requests.open(token))).toBe('REQUEST_CLOSED');
    expect(await code(requests.open('x'.repeat(43)))).toBe('REQUEST_NOT_FOUND');
    expect(stored).toHaveLength(1);
  });

  it('attack: a value that names other secrets is refused, the link still usable', async () => {
    const { requests, stored } = setup();
    const { token } = requests.create(INPUT);
    expect(await code(requests.submit(token, '{{ coffer://project/other/api_key }}'))).toBe(
      'INVALID_VALUE',
    );
    expect(stored).toEqual([]);
    expect(await requests.submit(token, 'plain-value')).toMatchObject({ status: 'stored' });
  });

  it('attack: submissions and answers in the same turn of the loop store once', async () => {
    const { requests, stored } = setup();
    const { request, token } = requests.create(INPUT);
    const answering = { set: async () => ({ version: 9 }) } as never;
    const outcomes = await Promise.allSettled([
      requests.submit(token, 'value-a'),
      requests.submit(token, 'value-b'),
      requests.submit(token, 'value-c'),
      requests.answer(request.id, 'value-d', answering),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect((o.reason as CofferError).code).toBe('REQUEST_CLOSED');
    }
    expect(stored.length).toBeLessThanOrEqual(1);
  });

  it('expires after 10 minutes (injected clock), audited once', async () => {
    const { requests, audit, tick } = setup();
    const { request, token } = requests.create(INPUT);
    tick(REQUEST_TTL_MS - 1);
    expect((await requests.status(request.id)).status).toBe('pending');
    tick(1);
    expect((await requests.status(request.id)).status).toBe('expired');
    expect(await code(requests.submit(token, 'late-value'))).toBe('REQUEST_CLOSED');
    expect(await requests.wait(request.id)).toMatchObject({ status: 'expired' });
    expect(audit.map((a) => a.outcome)).toEqual(['expired']);
  });

  it('a decline ends the request; waiters wake up', async () => {
    const { requests, audit } = setup();
    const { request, token } = requests.create(INPUT);
    const waiting = requests.wait(request.id);
    await requests.decline({ token }, 'the user');
    expect((await waiting).status).toBe('declined');
    expect(await code(requests.submit(token, 'after-decline'))).toBe('REQUEST_CLOSED');
    expect((await requests.decline({ id: request.id }, 'the client')).status).toBe('declined');
    expect(audit.map((a) => a.outcome)).toEqual(['declined']);
  });

  it("a client's decline while the user's value is being stored leaves it stored", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let storing!: () => void;
    const started = new Promise<void>((r) => {
      storing = r;
    });
    const audit: RequestOutcome[] = [];
    const requests = new SecretRequests({
      async store() {
        storing();
        await gate; // the vault write is still running
        return { version: 1 };
      },
      async audit(_r, outcome) {
        audit.push(outcome);
      },
    });
    const { request, token } = requests.create(INPUT);
    const submitted = requests.submit(token, 'sk_live_value_racing');
    await started;
    let declined: string | undefined;
    const decline = requests.decline({ id: request.id }, 'the client (decline)').then((v) => {
      declined = v.status;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(declined).toBeUndefined(); // it waits for the store instead of declining
    release();
    await decline;
    expect(declined).toBe('stored');
    expect((await submitted).status).toBe('stored');
    expect(audit).toEqual(['stored']);
  });

  it(`refuses more than ${MAX_OPEN_REQUESTS} open requests; ended or expired ones do not count`, async () => {
    const { requests, tick } = setup();
    const first = requests.create(INPUT);
    for (let i = 1; i < MAX_OPEN_REQUESTS; i++) requests.create(INPUT);
    expect(() => requests.create(INPUT)).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    await requests.decline({ id: first.request.id }, 'the user');
    requests.create(INPUT); // the declined one made room
    expect(() => requests.create(INPUT)).toThrow(/already waiting for the user/);
    tick(REQUEST_TTL_MS);
    for (let i = 0; i < MAX_OPEN_REQUESTS; i++) requests.create(INPUT); // all expired
    // Ended requests stay readable by id for a day, then are dropped.
    expect((await requests.status(first.request.id)).status).toBe('declined');
    tick(24 * 60 * 60 * 1000);
    requests.create(INPUT);
    expect(await code(requests.status(first.request.id))).toBe('REQUEST_NOT_FOUND');
  });

  it('a value the vault would refuse leaves the link usable', async () => {
    const { requests, stored, audit } = setup();
    const { request, token } = requests.create(INPUT);
    expect(await code(requests.submit(token, 'x'.repeat(70 * 1024)))).toBe('VALUE_TOO_LARGE');
    expect(await code(requests.submit(token, 'a\u0000b'))).toBe('INVALID_VALUE');
    expect((await requests.status(request.id)).status).toBe('pending');
    expect(await requests.submit(token, 'sk_live_after_a_retry')).toMatchObject({
      status: 'stored',
    });
    expect(stored).toEqual([{ path: INPUT.path, value: 'sk_live_after_a_retry' }]);
    expect(audit.map((a) => a.outcome)).toEqual(['stored']);
  });

  it('a failed store spends the link and says why, without the value', async () => {
    const { requests, audit } = setup(true);
    const { request, token } = requests.create(INPUT);
    expect(await code(requests.submit(token, 'sk_live_value_2'))).toBe('INVALID_DESCRIPTION');
    const view = await requests.status(request.id);
    expect(view).toMatchObject({ status: 'failed', error: 'the description says nothing' });
    expect(audit.map((a) => a.outcome)).toEqual(['failed']);
    expect(await code(requests.submit(token, 'sk_live_value_2'))).toBe('REQUEST_CLOSED');
  });

  it('an aborted wait returns the current state', async () => {
    const { requests } = setup();
    const { request } = requests.create(INPUT);
    const ac = new AbortController();
    const waiting = requests.wait(request.id, ac.signal);
    ac.abort();
    expect((await waiting).status).toBe('pending');
  });
});

describe('SecretRequests: expiry between the lookup and the spend', () => {
  it('a submission whose request expires after its link was checked stores nothing', async () => {
    // The clock answers each reading in turn: the link's check sees the request open, the
    // spend a moment past its expiry (the value checked across an await).
    let base = 1_000_000;
    const readings: number[] = [];
    const stored: string[] = [];
    const outcomes: RequestOutcome[] = [];
    const requests = new SecretRequests({
      now: () => readings.shift() ?? base,
      async store(_r, value) {
        stored.push(value);
        return { version: 1 };
      },
      async audit(_r, outcome) {
        outcomes.push(outcome);
      },
    });
    const { request, token } = requests.create(INPUT);
    const expiry = base + REQUEST_TTL_MS;
    readings.push(expiry - 1, expiry);
    expect(await code(requests.submit(token, 'sk_live_late_value'))).toBe('REQUEST_CLOSED');
    expect(stored).toEqual([]);
    base = expiry;
    expect((await requests.status(request.id))?.status).toBe('expired');
    expect(outcomes).toEqual(['expired']);
  });
});
