/**
 * The request routes of `coffer serve`, in process: the open-request cap through
 * `POST /v1/requests` (per token and freed by an answer), and the audit of the refusals of a
 * request's page.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { auditRecords, expectError, type Kit, makeKit } from '../../../test/helpers/server-kit.js';
import { MAX_OPEN_REQUESTS } from '../../core/requests/secret-requests.js';

let kit: Kit;
afterEach(async () => {
  await kit.dispose();
});

const ask = (i: number) => ({
  keyPath: `project/app/openai_key_${i}`,
  description: 'OpenAI key for the summariser job',
});

describe('POST /v1/requests: open requests are capped per token', () => {
  it('429 RATE_LIMITED past MAX_OPEN_REQUESTS waiting for one token; other tokens still ask; a withdrawn one frees its slot', async () => {
    kit = await makeKit({ publicUrl: 'https://coffer.example.com' });
    const ids: string[] = [];
    for (let i = 0; i < MAX_OPEN_REQUESTS; i++) {
      const a = await kit.send('POST', '/v1/requests', { token: kit.tokens.app, body: ask(i) });
      expect(a.status).toBe(201);
      ids.push((a.json.request as { id: string }).id);
    }
    const refused = await kit.send('POST', '/v1/requests', {
      token: kit.tokens.app,
      body: ask(99),
    });
    expectError(refused, 429, 'RATE_LIMITED');
    expect(refused.json.message).toContain('secret requests are already waiting for the user');
    const other = await kit.send('POST', '/v1/requests', { token: kit.tokens.write, body: ask(0) });
    expect(other.status).toBe(201);
    const withdrawn = await kit.send('POST', `/v1/requests/${ids[0]}/decline`, {
      token: kit.tokens.app,
    });
    expect(withdrawn.status).toBe(200);
    const again = await kit.send('POST', '/v1/requests', { token: kit.tokens.app, body: ask(99) });
    expect(again.status).toBe(201);
  });
});

describe('refusals of a request page are audited', () => {
  const VALUE = 'page-refusal-sentinel-Rq7v';
  it('a wrong Host (421), a form without or from another Origin and one without the CSRF field (403): request_page, denied, as the request, never the token or the value', async () => {
    kit = await makeKit({ publicUrl: 'https://coffer.example.com' });
    const made = await kit.send('POST', '/v1/requests', { token: kit.tokens.app, body: ask(1) });
    const { request, url } = made.json as { request: { id: string; actor: string }; url: string };
    const link = new URL(url);
    const token = link.pathname.split('/')[3]!;
    const host = link.host;
    const form = (csrf: string) => `csrf=${csrf}&action=store&value=${VALUE}`;
    const page = await kit.send('GET', link.pathname, { headers: { host } });
    expect(page.status).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const post = (headers: Record<string, string>, body: string) =>
      kit.send('POST', link.pathname, {
        body,
        address: '203.0.113.44',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });
    const answers = [
      await kit.send('GET', link.pathname, {
        address: '203.0.113.44',
        headers: { host: 'rebound.example' },
      }),
      await post({ host, origin: 'https://evil.example' }, form(csrf)),
      await post({ host }, form(csrf)),
      await post({ host, origin: link.origin }, form('not-the-field')),
    ];
    expect(answers.map((a) => a.status)).toEqual([421, 403, 403, 403]);
    const all = await auditRecords(kit);
    const refused = all.filter((r) => r.action === 'request_page');
    expect(refused.map((r) => [r.actor, r.outcome, r.path, r.env, r.detail])).toEqual(
      [
        'wrong Host header',
        'form sent from another origin',
        'form sent without an Origin header',
        "form without the page's CSRF field",
      ].map((reason) => [
        request.actor,
        'denied',
        'project/app/openai_key_1',
        'dev',
        `request ${request.id}: ${reason} (from 203.0.113.44)`,
      ]),
    );
    const text = JSON.stringify(all);
    expect(text).not.toContain(token);
    expect(text).not.toContain(VALUE);
    expect(text).not.toContain(csrf);
    // Nothing was stored, and the link still works from its own page.
    expect((await kit.send('GET', link.pathname, { headers: { host } })).status).toBe(200);
  });
});

/**
 * A server whose failure budget runs on a clock the test moves, with one request made by the
 * app token: its link, and the link's id and token.
 */
async function budgetedRequest() {
  const clock = { now: Date.parse('2026-03-01T10:00:00Z') };
  kit = await makeKit({
    publicUrl: 'https://coffer.example.com',
    rateLimit: { now: () => clock.now },
  });
  const made = await kit.send('POST', '/v1/requests', { token: kit.tokens.app, body: ask(1) });
  const link = new URL((made.json as { url: string }).url);
  const [, , id, token] = link.pathname.split('/') as [string, string, string, string];
  return { link, id, token, clock };
}

describe("guesses of a request's link count against the address's failure budget", () => {
  it('past 10 links that name no request: 429 with Retry-After, the right link too, audited once; after the window the right link works', async () => {
    const { link, id, token, clock } = await budgetedRequest();
    const guess = (i: number) => {
      const wrong = `${token.slice(0, -4)}${String(i).padStart(4, 'x')}`;
      return kit.send('GET', `/r/${id}/${wrong}`, {
        address: '198.51.100.7',
        headers: { host: link.host },
      });
    };
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await guess(i)).status);
    expect(statuses).toEqual([...Array(10).fill(404), ...Array(15).fill(429)]);
    const limited = await kit.send('GET', link.pathname, {
      address: '198.51.100.7',
      headers: { host: link.host },
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.text).not.toContain(token);
    // Another address is not limited by these guesses.
    const other = await kit.send('GET', link.pathname, {
      address: '203.0.113.9',
      headers: { host: link.host },
    });
    expect(other.status).toBe(200);
    // One record for the whole flood of refusals, by address, never a link token.
    const records = (await auditRecords(kit)).filter((r) => r.action === 'request_page');
    expect(records.map((r) => [r.actor, r.outcome])).toEqual([
      ['unauthenticated@198.51.100.7', 'denied'],
    ]);
    expect(records[0]!.detail).toContain('refused');
    for (const r of await auditRecords(kit))
      expect(JSON.stringify(r)).not.toContain(token.slice(0, 20));
    // The window ends: the same address gets the page with the right link.
    clock.now += 61_000;
    const after = await kit.send('GET', link.pathname, {
      address: '198.51.100.7',
      headers: { host: link.host },
    });
    expect(after.status).toBe(200);
    expect(after.text).toContain('name="csrf"');
  });
});

describe('malformed links under /r/ count against the same budget', () => {
  it('a segment missing or one too many, a token of another shape: 404 for the first 10, then 429 for every link from that address, the right one too, audited once', async () => {
    const { link, id, token, clock } = await budgetedRequest();
    const malformed = [
      `/r/${token}`,
      `/r/${id}`,
      '/r/',
      `/r/${id}/${token}/more`,
      `/r/${id}/${token}/`,
      `/r/x/${id}/${token}`,
      `/r/${id}/${token.slice(1)}`,
      `/r/${id}/${token}x`,
      `/r/req_x/${token}`,
    ];
    const guess = (path: string, method = 'GET') =>
      kit.send(method, path, { address: '198.51.100.8', headers: { host: link.host } });
    const statuses: number[] = [];
    for (const path of malformed) statuses.push((await guess(path)).status);
    statuses.push((await guess(`/r/${id}`, 'POST')).status);
    for (const path of malformed) statuses.push((await guess(path)).status);
    expect(statuses).toEqual([...Array(10).fill(404), ...Array(9).fill(429)]);
    const limited = await guess(link.pathname);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address still gets the page.
    const other = await kit.send('GET', link.pathname, {
      address: '203.0.113.9',
      headers: { host: link.host },
    });
    expect(other.status).toBe(200);
    const records = (await auditRecords(kit)).filter((r) => r.action === 'request_page');
    expect(records.map((r) => [r.actor, r.outcome])).toEqual([
      ['unauthenticated@198.51.100.8', 'denied'],
    ]);
    for (const r of await auditRecords(kit))
      expect(JSON.stringify(r)).not.toContain(token.slice(0, 20));
    clock.now += 61_000;
    expect((await guess(link.pathname)).status).toBe(200);
  });
});
