/**
 * The one-time page of `coffer mcp` (127.0.0.1, a random port): its refusals (a wrong Host,
 * a form without or from another Origin, one without the page's CSRF field) are audited
 * through the registry, naming the request and never its token or the value sent.
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkGuesses } from '../core/requests/link-guesses.js';
import { SecretRequests, type SecretRequestView } from '../core/requests/secret-requests.js';
import { createRequestPage, type RequestPage } from './request-page.js';

const VALUE = 'mcp-page-refusal-sentinel-Wt4k';

let pageServer: RequestPage | undefined;
afterEach(async () => {
  await pageServer?.close();
});

/** One HTTP request to 127.0.0.1 with exactly these headers; status and body. */
function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: url.port, path: url.pathname, method, headers, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe("coffer mcp's request page audits its refusals", () => {
  it('wrong Host (421), no or another Origin, no CSRF field (403): one denied record each, as the request', async () => {
    const refusals: { request: SecretRequestView; reason: string }[] = [];
    const outcomes: string[] = [];
    const requests = new SecretRequests({
      store: async () => ({ version: 1 }),
      audit: async (_r, outcome) => {
        outcomes.push(outcome);
      },
      refused: async (request, reason) => {
        refusals.push({ request, reason });
      },
    });
    pageServer = createRequestPage(requests);
    const { request, token } = requests.create({
      path: 'project/app/openai_key',
      env: 'dev',
      description: 'OpenAI key for the summariser job',
      actor: 'mcp:claude-code/2.1',
    });
    const url = new URL(await pageServer.urlFor(token));
    const host = url.host;
    const page = await send(url, 'GET', { host });
    expect(page.status).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const form = { host, 'content-type': 'application/x-www-form-urlencoded' };
    const body = (field: string) => `csrf=${field}&action=store&value=${VALUE}`;
    const statuses = [
      (await send(url, 'GET', { host: 'rebound.example' })).status,
      (await send(url, 'POST', { ...form, origin: 'http://evil.example' }, body(csrf))).status,
      (await send(url, 'POST', form, body(csrf))).status,
      (await send(url, 'POST', { ...form, origin: url.origin }, body('wrong'))).status,
    ];
    expect(statuses).toEqual([421, 403, 403, 403]);
    expect(refusals.map((r) => r.reason)).toEqual(
      [
        'wrong Host header',
        'form sent from another origin',
        'form sent without an Origin header',
        "form without the page's CSRF field",
      ].map((reason) => `request ${request.id}: ${reason} (from 127.0.0.1)`),
    );
    expect(refusals.every((r) => r.request.actor === 'mcp:claude-code/2.1')).toBe(true);
    const text = JSON.stringify(refusals);
    expect(text).not.toContain(token);
    expect(text).not.toContain(VALUE);
    expect(text).not.toContain(csrf);
    // A URL that names no request is refused unaudited (nothing to name).
    const other = new URL(`/r/${'A'.repeat(43)}`, url);
    expect((await send(other, 'GET', { host: 'rebound.example' })).status).toBe(421);
    expect(refusals).toHaveLength(4);
    expect(outcomes).toEqual(['opened']);
  });
});

/**
 * A request page whose link guesses are budgeted on a clock the test moves, one request
 * open; `denied` gets each audited refusal.
 */
async function guessedPage() {
  const clock = { now: 1_000_000 };
  const denied: string[] = [];
  const requests = new SecretRequests({
    store: async () => ({ version: 1 }),
    audit: async () => undefined,
  });
  const guesses = new LinkGuesses(
    async (address, detail) => {
      denied.push(`${address}: ${detail}`);
    },
    { now: () => clock.now },
  );
  pageServer = createRequestPage(requests, { guesses });
  const { token } = requests.create({
    path: 'project/app/openai_key',
    env: 'dev',
    description: 'OpenAI key for the summariser job',
    actor: 'mcp:claude-code/2.1',
  });
  const url = new URL(await pageServer.urlFor(token));
  return { denied, token, url, host: url.host, clock };
}

describe("coffer mcp's request page limits guesses of a link", () => {
  it('past 10 links that name no request: 429, audited once; after the window the right link works', async () => {
    const { denied, token, url, host, clock } = await guessedPage();
    const at = (t: string) => new URL(`/r/${t}`, url);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const wrong = `${token.slice(0, -4)}${String(i).padStart(4, 'x')}`;
      statuses.push((await send(at(wrong), 'GET', { host })).status);
    }
    expect(statuses).toEqual([...Array(10).fill(404), ...Array(20).fill(429)]);
    expect((await send(url, 'GET', { host })).status).toBe(429);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatch(/^127\.0\.0\.1: request links from 127\.0\.0\.1 refused for \d+ s/);
    expect(denied[0]).not.toContain(token.slice(0, 20));
    clock.now += 61_000;
    const page = await send(url, 'GET', { host });
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="csrf"');
  });
});

describe("coffer mcp's request page counts malformed links as guesses", () => {
  it('a token of another shape, a segment too many, /r/ alone: 404 for the first 10, then 429 for every link, the right one too, audited once', async () => {
    const { denied, token, url, host, clock } = await guessedPage();
    const malformed = [
      `/r/${token.slice(1)}`,
      `/r/${token}x`,
      `/r/${token}/`,
      `/r/${token}/more`,
      '/r/',
      `/r/${token.slice(0, -1)}*`,
      `/r//${token}`,
    ];
    const statuses: number[] = [];
    for (const path of [...malformed, ...malformed])
      statuses.push((await send(new URL(path, url), 'GET', { host })).status);
    expect(statuses).toEqual([...Array(10).fill(404), ...Array(4).fill(429)]);
    expect((await send(url, 'GET', { host })).status).toBe(429);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatch(/^127\.0\.0\.1: request links from 127\.0\.0\.1 refused for \d+ s/);
    expect(denied[0]).not.toContain(token.slice(0, 20));
    // Paths outside /r/ are no links: 404, never counted.
    clock.now += 61_000;
    for (let i = 0; i < 12; i++) {
      expect((await send(new URL('/favicon.ico', url), 'GET', { host })).status).toBe(404);
    }
    expect((await send(url, 'GET', { host })).status).toBe(200);
  });
});
