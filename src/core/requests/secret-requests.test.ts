import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { REQUEST_TTL_MS, type RequestOutcome, SecretRequests } from './secret-requests.js';

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
