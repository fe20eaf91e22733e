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
