/**
 * request_secret end to end: the built `coffer mcp` with the SDK's client, which plays the
 * agent's host (it declares URL-mode elicitation, or not) and the user (it opens the page over
 * HTTP and submits a value). The value must reach the vault and nothing else: no MCP message
 * in either direction, no log line, no audit record.
 */
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';
import {
  type Answer,
  callTool,
  http,
  playUser,
  type RequestSession,
  startRequestSession,
} from './request-harness.js';

const DESCRIPTION = 'Stripe secret key for the shop checkout';

function vault() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  return h;
}

/**
 * After a session that stored `given` through request_secret: the requests are audited, and
 * no value is in any MCP message, the server's log or the audit log.
 */
function expectStoredUnseen(h: ReturnType<typeof vault>, s: RequestSession, given: string[]) {
  const audit = h.run(['audit', '--json']);
  const actions = (JSON.parse(audit.stdout) as { records: { action: string }[] }).records.map(
    (a) => a.action,
  );
  expect(actions).toEqual(expect.arrayContaining(['request_opened', 'set', 'request_stored']));
  for (const text of [...s.wire, s.stderr(), audit.stdout]) {
    for (const v of given) expect(text).not.toContain(v);
  }
}

/**
 * A vault and a session whose client has no URL elicitation, and one request_secret call:
 * answered with the link and the request id (status pending).
 */
async function linkRequest(
  protocol = '2025-11-25',
  keyPath = 'project/shop/stripe_key',
  description = DESCRIPTION,
) {
  const h = vault();
  const s = await startRequestSession(h.env, h.home, undefined, protocol);
  const r = await callTool(s, 'request_secret', { keyPath, description });
  expect(r.structuredContent).toMatchObject({ status: 'pending' });
  const { url, requestId } = r.structuredContent as { url: string; requestId: string };
  return { h, s, url, requestId };
}

const secretValue = fc
  .string({ unit: 'grapheme', minLength: 10, maxLength: 40 })
  .filter((v) => v.trim() === v && new Set(v).size >= 6 && !/[\r\n]/.test(v));

describe('request_secret with URL-mode elicitation', () => {
  it('property: the value reaches the vault and no MCP message, log line or audit record', async () => {
    const h = vault();
    let value = '';
    let posted: Promise<Answer> | undefined;
    const s = await startRequestSession(h.env, h.home, {
      reply: 'accept',
      user: (url) => {
        posted = playUser(url, value);
        return posted;
      },
    });
    const given: string[] = [];
    await fc.assert(
      fc.asyncProperty(secretValue, async (v) => {
        value = v;
        const keyPath = `project/shop/stripe_key_${given.length}`;
        given.push(v);
        const r = await callTool(s, 'request_secret', { keyPath, description: DESCRIPTION });
        expect(r.isError, JSON.stringify(r)).toBeFalsy();
        expect(r.structuredContent).toMatchObject({ status: 'stored', keyPath, version: 1 });
        expect((await posted!).status).toBe(200);
        const e = s.elicitations.at(-1)!;
        expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/r\/[A-Za-z0-9_-]{43}$/);
        expect(s.completed).toContain(e.elicitationId);
        expect(h.run(['get', keyPath]).stdout).toBe(`${v}\n`);
        // The link works once.
        expect((await http('GET', e.url)).status).toBe(410);
        const again = await http(
          'POST',
          e.url,
          { Origin: new URL(e.url).origin, 'Content-Type': 'application/x-www-form-urlencoded' },
          new URLSearchParams({ csrf: 'x', action: 'store', value: 'other' }).toString(),
        );
        expect([403, 410]).toContain(again.status);
      }),
      { numRuns: 5 },
    );
    await s.close();
    expectStoredUnseen(h, s, given);
  }, 240_000);

  it('refuses a wrong Origin, a missing CSRF field and a non-loopback Host; the link still works after', async () => {
    const h = vault();
    let resolveUrl!: (u: string) => void;
    const urlP = new Promise<string>((r) => {
      resolveUrl = r;
    });
    const s = await startRequestSession(h.env, h.home, {
      reply: 'accept',
      user: async (url) => resolveUrl(url),
    });
    const pending = callTool(s, 'request_secret', {
      keyPath: 'project/shop/stripe_key',
      description: DESCRIPTION,
      writeEnv: '.env',
    });
    const url = await urlP;
    const page = await http('GET', url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('request-e2e');
    expect(page.body).toContain('project/shop/stripe_key');
    expect(page.body).toContain(DESCRIPTION);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const form = new URLSearchParams({ csrf, action: 'store', value: 'sk_test_wrong_origin' });
    const type = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const origin = new URL(url).origin;
    expect(
      (await http('POST', url, { ...type, Origin: 'http://evil.example' }, form.toString())).status,
    ).toBe(403);
    expect((await http('POST', url, type, form.toString())).status).toBe(403);
    const noCsrf = new URLSearchParams({ action: 'store', value: 'x-value-1' }).toString();
    expect((await http('POST', url, { ...type, Origin: origin }, noCsrf)).status).toBe(403);
    expect((await http('GET', url, { Host: 'attacker.example' })).status).toBe(421);
    expect(
      (
        await http(
          'POST',
          url,
          { ...type, Origin: origin, Host: 'attacker.example:80' },
          form.toString(),
        )
      ).status,
    ).toBe(421);
    // None of that spent the link: the user can still store.
    const ok = await playUser(url, 'sk_test_0123456789abcdef');
    expect(ok.status).toBe(200);
    const r = await pending;
    expect(r.structuredContent).toMatchObject({ status: 'stored', written: ['STRIPE_KEY'] });
    expect(h.run(['get', 'project/shop/stripe_key']).stdout).toBe('sk_test_0123456789abcdef\n');
    const answer = await new Promise<Record<string, string | string[] | undefined>>((resolve) => {
      httpRequest(url, (res) => {
        res.resume();
        resolve(res.headers);
      }).end();
    });
    expect(answer['cache-control']).toBe('no-store');
    expect(answer['content-security-policy']).toContain("default-src 'none'");
    expect(answer['content-security-policy']).toContain("frame-ancestors 'none'");
  }, 120_000);

  for (const protocol of ['2025-11-25', '2026-07-28']) {
    for (const reply of ['decline', 'cancel'] as const) {
      it(`an elicitation answered ${reply} stores nothing and ends the link (${protocol})`, async () => {
        const h = vault();
        const s = await startRequestSession(h.env, h.home, { reply }, protocol);
        const r = await callTool(s, 'request_secret', {
          keyPath: 'project/shop/stripe_key',
          description: DESCRIPTION,
        });
        expect(r.structuredContent).toMatchObject({ status: 'declined' });
        expect((await http('GET', s.elicitations[0]!.url)).status).toBe(410);
        expect(h.run(['get', 'project/shop/stripe_key']).code).toBe(3);
      }, 120_000);
    }
  }

  it('the user declining on the page stores nothing', async () => {
    const h = vault();
    const s = await startRequestSession(h.env, h.home, {
      reply: 'accept',
      user: (url) => playUser(url, null),
    });
    const r = await callTool(s, 'request_secret', {
      keyPath: 'project/shop/stripe_key',
      description: DESCRIPTION,
    });
    expect(r.structuredContent).toMatchObject({ status: 'declined' });
    expect(h.run(['get', 'project/shop/stripe_key']).code).toBe(3);
    const actions = (
      JSON.parse(h.run(['audit', '--json']).stdout) as { records: { action: string }[] }
    ).records.map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['request_opened', 'request_declined']));
  }, 120_000);
});

describe('request_secret with URL-mode elicitation on protocol 2026-07-28 (input_required)', () => {
  const MODERN = '2026-07-28';

  it('property: the value reaches the vault and no MCP message, log line or audit record', async () => {
    const h = vault();
    let value = '';
    let posted: Promise<Answer> | undefined;
    const s = await startRequestSession(
      h.env,
      h.home,
      {
        reply: 'accept',
        user: (url) => {
          posted = playUser(url, value);
          return posted;
        },
      },
      MODERN,
    );
    expect(s.client.getNegotiatedProtocolVersion()).toBe(MODERN);
    const given: string[] = [];
    await fc.assert(
      fc.asyncProperty(secretValue, async (v) => {
        value = v;
        const keyPath = `project/shop/stripe_key_${given.length}`;
        given.push(v);
        const r = await callTool(s, 'request_secret', {
          keyPath,
          description: DESCRIPTION,
          writeEnv: '.env',
        });
        expect(r.isError, JSON.stringify(r)).toBeFalsy();
        expect(r.structuredContent).toMatchObject({ status: 'stored', keyPath, version: 1 });
        expect((await posted!).status).toBe(200);
        const e = s.elicitations.at(-1)!;
        expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/r\/[A-Za-z0-9_-]{43}$/);
        expect(e.message).toContain(keyPath);
        expect(h.run(['get', keyPath]).stdout).toBe(`${v}\n`);
        expect((await http('GET', e.url)).status).toBe(410);
      }),
      { numRuns: 4 },
    );
    // The first round's answer was input_required with the URL, never a value.
    const rounds = s.wire.filter((m) => m.includes('input_required'));
    expect(rounds.length).toBe(given.length);
    expect(rounds.join('\n')).toContain('"mode":"url"');
    await s.close();
    expectStoredUnseen(h, s, given);
  }, 240_000);

  it('a client without URL elicitation gets the link and a request id', async () => {
    const { s, url, requestId } = await linkRequest(MODERN);
    expect(s.wire.join('\n')).not.toContain('input_required');
    expect((await playUser(url, 'sk_live_modern_link_77')).status).toBe(200);
    const done = await callTool(s, 'request_status', { requestId });
    expect(done.structuredContent).toMatchObject({ status: 'stored', version: 1 });
    expect(s.wire.join('\n')).not.toContain('sk_live_modern_link_77');
  }, 120_000);

  it('refuses a forged, altered, re-addressed or borrowed requestState', async () => {
    const h = vault();
    const s = await startRequestSession(h.env, h.home, { reply: 'accept' }, MODERN);
    const args = { keyPath: 'project/shop/stripe_key', description: DESCRIPTION };
    // The host's own rounds, by hand: the first answer carries the sealed request.
    const first = (await s.client.callTool(
      { name: 'request_secret', arguments: args },
      { allowInputRequired: true },
    )) as {
      resultType?: string;
      requestState?: string;
      inputRequests?: { value?: { params?: { url?: string } } };
    };
    expect(first.resultType).toBe('input_required');
    const state = first.requestState!;
    const url = first.inputRequests?.value?.params?.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/r\//);
    type Answered = {
      isError?: boolean;
      structuredContent?: Record<string, unknown> & { error?: { message: string } };
    };
    const retry = (
      requestState: string,
      o: { name?: string; args?: Record<string, unknown>; answer?: unknown; meta?: object } = {},
    ) =>
      s.client.callTool(
        {
          name: o.name ?? 'request_secret',
          arguments: o.args ?? args,
          ...(o.answer === undefined ? {} : { inputResponses: { value: o.answer } }),
          ...(o.meta === undefined ? {} : { _meta: o.meta }),
          requestState,
        } as never,
        { allowInputRequired: true },
      ) as Promise<Answered>;
    const decline = { action: 'decline' };
    const tampered = `${state.slice(0, -2)}${state.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const bad of ['v1.forged.state', tampered]) {
      await expect(retry(bad, { answer: decline })).rejects.toThrow(
        /Invalid or expired requestState/,
      );
    }
    // Bound to the client that was asked: another declared name cannot use it.
    const stranger = { 'io.modelcontextprotocol/clientInfo': { name: 'other', version: '1' } };
    await expect(retry(state, { answer: decline, meta: stranger })).rejects.toThrow(
      /Invalid or expired requestState/,
    );
    const other = await retry(state, {
      args: { ...args, keyPath: 'project/shop/other_key' },
      answer: decline,
    });
    expect(other.isError).toBe(true);
    expect(other.structuredContent?.error?.message).toContain('project/shop/stripe_key');
    // Sealed for request_secret: another tool refuses it.
    const elsewhere = await retry(state, {
      name: 'request_status',
      args: { requestId: 'req_000000000000000000000000' },
    });
    expect(elsewhere.isError).toBe(true);
    expect(elsewhere.structuredContent?.error?.message).toContain('belongs to request_secret');
    // No readable answer decides nothing: the agent gets the link to show the user.
    const unanswered = await retry(state);
    expect(unanswered.structuredContent).toMatchObject({ status: 'pending', url });
    // The genuine state ends the request as the user's host answered: declined.
    const ok = await retry(state, { answer: decline });
    expect(ok.structuredContent).toMatchObject({ status: 'declined' });
    expect((await http('GET', url!)).status).toBe(410);
  }, 120_000);
});

describe('request_secret: the page', () => {
  it('takes a value of several lines from its text area, line breaks kept', async () => {
    const { h, url } = await linkRequest(
      undefined,
      'project/shop/tls_key',
      'TLS private key of the shop front end',
    );
    const page = await http('GET', url);
    expect(page.body).toContain('<textarea id="value_lines" name="value_lines"');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const post = (fields: Record<string, string>) =>
      http(
        'POST',
        url,
        { Origin: new URL(url).origin, 'Content-Type': 'application/x-www-form-urlencoded' },
        new URLSearchParams({ csrf, action: 'store', ...fields }).toString(),
      );
    // Browsers send a text area's line breaks as CRLF.
    const pem =
      '-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0B\r\n-----END PRIVATE KEY-----\r\n';
    const none = await post({ value: '', value_lines: '' });
    expect(none.status).toBe(400);
    expect(none.body).toContain('Nothing was entered.');
    const both = await post({ value: 'one-line-value', value_lines: pem });
    expect(both.status).toBe(400);
    expect(both.body).toContain('fill in one of them');
    // A body over the cap gets its answer (413), not a reset connection; the link still works.
    const huge = await post({ value: 'x'.repeat(300 * 1024) });
    expect(huge.status).toBe(413);
    expect(huge.body).toContain('too large');
    expect((await post({ value: '', value_lines: pem })).status).toBe(200);
    expect(h.run(['get', 'project/shop/tls_key']).stdout).toBe(`${pem.replace(/\r\n/g, '\n')}\n`);
  }, 120_000);
});

describe('request_secret without URL elicitation', () => {
  it('answers with a link and a request id; request_status says when it is stored', async () => {
    const { s, url, requestId } = await linkRequest();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/r\//);
    expect((await callTool(s, 'request_status', { requestId })).structuredContent).toMatchObject({
      status: 'pending',
    });
    // A value over 64 KiB is refused with the form again, and the link still works.
    const tooBig = await playUser(url, 'x'.repeat(70 * 1024));
    expect(tooBig.status).toBe(400);
    expect(tooBig.body).toContain('the limit is 65536 bytes');
    expect(tooBig.body).toContain('name="csrf"');
    expect((await playUser(url, 'sk_live_from_the_page_42')).status).toBe(200);
    const done = await callTool(s, 'request_status', { requestId });
    expect(done.structuredContent).toMatchObject({ status: 'stored', version: 1 });
    expect(s.wire.join('\n')).not.toContain('sk_live_from_the_page_42');
    expect(s.stderr()).not.toContain('sk_live_from_the_page_42');
    const unknown = await callTool(s, 'request_status', { requestId: 'req_nothing' });
    expect(unknown.isError).toBe(true);
  }, 120_000);
});
