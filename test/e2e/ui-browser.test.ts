/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core
 * (test/helpers/browser.ts), one browser for the file, against an in-process server on a
 * loopback port with a short reveal time (its timer is run with the page's fake clock, so
 * nothing here waits on wall-clock time).
 *
 * Screenshots of the main pages are taken on every run; `COFFER_UPDATE_SCREENSHOTS=1` writes
 * them into docs/ (the README shows them).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIncident } from '../../src/core/incident/incident.js';
import { privateLoopbackHost } from '../../src/core/loopback.js';
import { SecretRequests } from '../../src/core/requests/secret-requests.js';
import { localMcpBackend } from '../../src/mcp/backend.js';
import { mcpPolicy } from '../../src/mcp/policy.js';
import { createCofferMcpServer } from '../../src/mcp/server.js';
import { createApi } from '../../src/server/app.js';
import { type RunningServer, startServer } from '../../src/server/http-server.js';
import { axeViolations, launchChromium } from '../helpers/browser.js';
import { makeTestServer, type TestServer } from '../helpers/server.js';

const VALUE = 'demo-value-browser-sentinel-7Hq2Lm';
const OTHER = 'other-project-sentinel-R4nd0m';
const REVEAL_MS = 2000;
const SHOTS =
  process.env.COFFER_UPDATE_SCREENSHOTS === '1'
    ? join(import.meta.dirname, '../../docs')
    : mkdtempSync(join(tmpdir(), 'coffer-shots-'));

const GIVEN = 'given-in-the-ui-sentinel-P3xR8w';
const GIVEN_SERVE = 'given-under-serve-sentinel-J7tK2e';
let browser: Browser;
let server: TestServer;
let manifestDir: string;
/** Agents' request_secret requests: shared by the MCP server below and the web UI. */
const requests = new SecretRequests({
  async store(request, value) {
    const r = await server.vault.withActor(request.actor).set(request.path, request.env, value, {
      description: request.description,
    });
    return { version: r.version };
  },
  async audit(request, outcome, detail) {
    await server.vault
      .withActor(request.actor)
      .auditedTransaction(`request_${outcome}`, async () => ({ result: undefined, detail }), {
        path: request.path,
        env: request.env,
      });
  },
});
let running: RunningServer;
let url: string;
const tokens: Record<string, string> = {};

async function seed(path: string, env: string, value: string, description: string) {
  await server.vault.set(path, env, value, { description });
}

beforeAll(async () => {
  manifestDir = mkdtempSync(join(tmpdir(), 'coffer-ui-manifest-'));
  const manifest = join(manifestDir, 'coffer.yaml');
  writeFileSync(
    manifest,
    `project: app
environments: [dev, staging, prod]
variables:
  DATABASE_URL:
    description: Primary PostgreSQL database
    tier: 1
  STRIPE_API_KEY:
    description: Stripe key for payments
    tier: 2
  SENTRY_DSN:
    description: Where the app reports its errors
    tier: 2
    source: ask
`,
  );
  server = await makeTestServer({
    ui: { revealMs: REVEAL_MS, manifests: [manifest], requests },
  });
  running = await startServer(server.app, { host: '127.0.0.1', port: 0 });
  url = running.url;
  tokens.admin = await server.token({
    name: 'admin',
    caps: ['read', 'list', 'write', 'delete', 'admin'],
  });
  tokens.app = await server.token({
    name: 'app-team',
    allow: ['project/app/*'],
    caps: ['read', 'list', 'write'],
  });
  await seed('project/app/stripe_api_key', 'dev', VALUE, 'Stripe key for test-mode payments');
  await seed('project/app/stripe_api_key', 'prod', VALUE, 'Stripe key for live payments');
  await seed('project/app/database_url', 'dev', 'postgres://dev', 'Primary PostgreSQL database');
  await seed(
    'project/app/database_url',
    'staging',
    'postgres://stg',
    'Primary PostgreSQL database',
  );
  await seed('project/app/database_url', 'prod', 'postgres://prod', 'Primary PostgreSQL database');
  await seed('project/app/session_secret', 'dev', 'dev-session', 'Signs the session cookies');
  await seed('project/billing/webhook_secret', 'prod', OTHER, 'Verifies webhook signatures');
  await seed('meta/cloudflare/api_token', 'prod', OTHER, 'DNS edits for the deploy job');
  await server.vault.get('project/app/database_url', 'prod');
  await openIncident(server.vault.withActor('cli:alice'), {
    path: 'project/app/session_secret',
    env: 'dev',
    where: 'a screenshot in the team chat',
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await running?.close();
  await server?.api.close();
  await server?.storage.close();
  rmSync(manifestDir, { recursive: true, force: true });
  if (process.env.COFFER_UPDATE_SCREENSHOTS !== '1')
    rmSync(SHOTS, { recursive: true, force: true });
});

async function loggedIn(
  token: string,
  options: { bypassCSP?: boolean; at?: string } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const { at = url, ...contextOptions } = options;
  const context = await browser.newContext({
    viewport: { width: 1100, height: 760 },
    ...contextOptions,
  });
  const page = await context.newPage();
  await page.goto(`${at}/login`);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${at}/`);
  return { context, page };
}

async function auditActions(path: string): Promise<string[]> {
  const rows = await server.vault.readTransaction((tx) =>
    tx.listAudit({ afterSeq: 0, limit: 10_000, path }),
  );
  return rows.map((r) => `${r.action}:${r.outcome}:${r.actor.split('@')[0]}`);
}

describe('the web UI in Chromium', () => {
  it('logs in with a token, browses, and logs out', async () => {
    const { context, page } = await loggedIn(tokens.admin!);
    await expect(page.getByRole('heading', { name: 'Projects' }).isVisible()).resolves.toBe(true);
    await page.screenshot({ path: join(SHOTS, 'ui-projects.png') });
    await page.getByRole('link', { name: 'project/app' }).click();
    await page.waitForURL(`${url}/p/project/app`);
    const headers = await page.locator('table.secrets thead th').allTextContents();
    expect(headers).toEqual([
      'Name',
      'Description',
      'Tier',
      'Rotation',
      'dev',
      'staging',
      'prod',
      'Same in dev and prod',
    ]);
    expect(await page.getByRole('row', { name: /stripe_api_key/ }).textContent()).toContain('same');
    expect(await page.locator('td.missing').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, 'ui-secrets.png') });
    expect(await page.content()).not.toContain(VALUE);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.goto(`${url}/p/project/app`);
    expect(page.url()).toBe(`${url}/login`);
    await context.close();
  });

  it('reveals a value on click only: absent before, shown, audited, gone after the timeout', async () => {
    const { context, page } = await loggedIn(tokens.admin!);
    await page.clock.install();
    const res = await page.goto(`${url}/s/project/app/stripe_api_key?env=dev`);
    expect(await res?.text()).not.toContain(VALUE);
    expect(await page.content()).not.toContain(VALUE);
    const before = (await auditActions('project/app/stripe_api_key')).filter((a) =>
      a.startsWith('get:'),
    );
    await page.getByRole('button', { name: 'Reveal' }).click();
    const output = page.locator('output.js-value');
    await output.waitFor({ state: 'visible' });
    expect(await output.textContent()).toBe(VALUE);
    await page.screenshot({ path: join(SHOTS, 'ui-secret.png'), fullPage: true });
    const after = (await auditActions('project/app/stripe_api_key')).filter((a) =>
      a.startsWith('get:'),
    );
    expect(after.length).toBe(before.length + 1);
    expect(after.at(-1)).toBe('get:ok:token:admin');
    await page.clock.runFor(REVEAL_MS + 100);
    await output.waitFor({ state: 'hidden' });
    expect(await page.content()).not.toContain(VALUE);
    await context.close();
  });

  it('sets a value with check-and-set: the second of two open pages gets a conflict', async () => {
    const { context, page } = await loggedIn(tokens.admin!);
    const second = await context.newPage();
    const path = `${url}/s/project/app/session_secret?env=dev`;
    await page.goto(path);
    await second.goto(path);
    await page.getByLabel('New value', { exact: true }).fill('first-writer-value');
    await page.getByRole('button', { name: 'Save new version' }).click();
    await page.getByText('Saved a new version.').waitFor();
    await second.getByLabel('New value', { exact: true }).fill('second-writer-value');
    await second.getByRole('button', { name: 'Save new version' }).click();
    const alert = second.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/version/i);
    expect(await second.content()).not.toContain('second-writer-value');
    expect((await server.vault.get('project/app/session_secret', 'dev')).value).toBe(
      'first-writer-value',
    );
    await context.close();
  });

  it('rotates a generated secret from its page', async () => {
    await server.vault.set('project/app/signing_key', 'dev', 'initial-signing-key', {
      description: 'Signs the outgoing webhooks',
      metadata: { generator: 'hex:32', rotation: '90d' },
    });
    const { context, page } = await loggedIn(tokens.admin!);
    await page.goto(`${url}/s/project/app/signing_key?env=dev`);
    await page.getByLabel('Grace window').fill('2d');
    await page.getByRole('button', { name: 'Rotate', exact: true }).click();
    await page.getByText('Rotated:').waitFor();
    expect((await server.vault.info('project/app/signing_key', 'dev')).currentVersion).toBe(2);
    await page.goto(`${url}/rotation`);
    expect(await page.getByRole('row', { name: /signing_key/ }).textContent()).toContain(
      'in-grace',
    );
    await context.close();
  });

  it('a token limited to one project sees nothing else, by links or by direct URLs', async () => {
    const { context, page } = await loggedIn(tokens.app!);
    const projects = await page.locator('main table a').allTextContents();
    expect(projects).toEqual(['project/app']);
    expect(await page.getByRole('link', { name: 'Audit log' }).count()).toBe(0);
    for (const path of [
      '/p/project/billing',
      '/s/project/billing/webhook_secret?env=prod',
      '/p/meta/cloudflare',
      '/p/project/billing/manifest',
      '/audit',
      '/tokens',
    ]) {
      const res = await page.goto(`${url}${path}`);
      expect({ path, status: res?.status() }).toEqual({ path, status: 403 });
      expect(await page.content()).not.toContain(OTHER);
    }
    // Page scripts are strings: this file is compiled without the DOM's types.
    const reveal = (await page.evaluate(`(async () => {
      const csrf = document.querySelector('meta[name="csrf-token"]').content;
      const r = await fetch('/s/project/billing/webhook_secret/reveal?env=prod', {
        method: 'POST',
        headers: { 'x-csrf-token': csrf },
      });
      return { status: r.status, text: await r.text() };
    })()`)) as { status: number; text: string };
    expect(reveal.status).toBe(403);
    expect(reveal.text).not.toContain(OTHER);
    await context.close();
  });

  it('refuses a form posted from another origin', async () => {
    const { context, page } = await loggedIn(tokens.admin!);
    const target = `${url}/s/project/app/database_url/delete?env=dev`;
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<form id="f" method="post" action="${target}"><input name="_csrf" value="guess"></form><script>document.getElementById('f').submit()</script>`,
      );
    });
    evil.listen(0, '127.0.0.1');
    await once(evil, 'listening');
    const port = (evil.address() as { port: number }).port;
    const answer = page.waitForResponse((r) => r.url() === target);
    await page.goto(`http://localhost:${port}/`);
    expect((await answer).status()).toBe(403);
    expect((await server.vault.info('project/app/database_url', 'dev')).deletedAt).toBeNull();
    evil.close();
    await context.close();
  });

  it("a session on coffer ui's own loopback address is not sent to another local server", async () => {
    // What a dev server on 127.0.0.1 sees of the browser's cookies once it is visited.
    const seen: (string | undefined)[] = [];
    const other: Server = createServer((req, res) => {
      seen.push(req.headers.cookie);
      res.end('ok');
    });
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const otherUrl = `http://127.0.0.1:${(other.address() as { port: number }).port}/`;
    const own = await startServer(server.app, { host: privateLoopbackHost(), port: 0 });
    try {
      // Served on 127.0.0.1 (as before coffer ui had its own address), the cookie leaks:
      // the check below can tell.
      const shared = await loggedIn(tokens.admin!);
      await shared.page.goto(otherUrl);
      expect(seen.at(-1) ?? '').toContain('coffer_session=');
      await shared.context.close();
      const isolated = await loggedIn(tokens.admin!, { at: own.url });
      await isolated.page.goto(otherUrl);
      expect(seen.at(-1) ?? '').not.toContain('coffer_session=');
      // The session itself works where it was made.
      const home = await isolated.page.goto(`${own.url}/`);
      expect(home?.status()).toBe(200);
      expect(await isolated.page.content()).toContain('app');
      await isolated.context.close();
    } finally {
      await own.close();
      other.close();
    }
  });

  it('sends a strict CSP, and an inline script does not run', async () => {
    const { context, page } = await loggedIn(tokens.admin!);
    const res = await page.goto(`${url}/p/project/app`);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const ran = await page.evaluate(`(async () => {
      const blocked = new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', () => resolve(true), { once: true });
        setTimeout(() => resolve(false), 2000);
      });
      const s = document.createElement('script');
      s.textContent = 'window.injected = true';
      document.body.append(s);
      return { ran: window.injected === true, blocked: await blocked };
    })()`);
    expect(ran).toEqual({ ran: false, blocked: true });
    await context.close();
  });

  it("answers an agent's request_secret from the UI: the value never reaches the agent", async () => {
    const mcp = createCofferMcpServer({
      backend: localMcpBackend(server.vault, async () => {}),
      policy: mcpPolicy({ allow: [], envs: [], readOnly: false, reveal: 'never' }),
      readOnly: false,
      defaultEnv: 'dev',
      agentId: undefined,
      cwd: manifestDir,
      log: { info: () => {}, warn: () => {} },
      version: '0.0.0-test',
      requests,
    });
    const [a, b] = InMemoryTransport.createLinkedPair();
    const seen: string[] = [];
    const client = new Client({ name: 'browser-test-agent', version: '1.0' });
    await Promise.all([mcp.connect(a), client.connect(b)]);
    const asked = await client.callTool({
      name: 'request_secret',
      arguments: {
        keyPath: 'project/app/sentry_dsn',
        description: 'Where the app reports its errors',
      },
    });
    seen.push(JSON.stringify(asked));
    const { requestId } = asked.structuredContent as { requestId: string };
    expect(asked.structuredContent).toMatchObject({ status: 'pending' });

    const { context, page } = await loggedIn(tokens.app!);
    await page.getByRole('link', { name: 'Requests' }).click();
    await page.waitForURL(`${url}/requests`);
    await page.getByRole('heading', { name: 'project/app/sentry_dsn (dev)' }).waitFor();
    expect(await page.content()).toContain('browser-test-agent');
    await page.screenshot({ path: join(SHOTS, 'ui-requests.png') });
    await page.getByLabel('Value of project/app/sentry_dsn').fill(GIVEN);
    await page.getByRole('button', { name: 'Store in the vault' }).click();
    await page.getByText('Stored project/app/sentry_dsn (dev) version 1').waitFor();
    expect(await page.content()).not.toContain(GIVEN);

    const status = await client.callTool({ name: 'request_status', arguments: { requestId } });
    seen.push(JSON.stringify(status));
    expect(status.structuredContent).toMatchObject({ status: 'stored', version: 1 });
    expect((await server.vault.get('project/app/sentry_dsn', 'dev')).value).toBe(GIVEN);
    for (const m of seen) expect(m).not.toContain(GIVEN);
    const actions = await auditActions('project/app/sentry_dsn');
    expect(actions).toContain('set:ok:token:app-team');
    await client.close();
    await context.close();
  });

  it("answers an agent's request made through coffer serve's API (remote mode, kept in the store)", async () => {
    // Assembled as `coffer serve` assembles it: no in-process registry, the store's requests.
    const serve = createApi({ vault: server.vault, ui: { revealMs: REVEAL_MS } });
    const served = await startServer(
      serve.app,
      { host: '127.0.0.1', port: 0 },
      { hotPath: serve.hotPath },
    );
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${served.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${tokens.app}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const created = await api('POST', '/v1/requests', {
      keyPath: 'project/app/mailer_key',
      env: 'staging',
      description: 'Sends the password-reset mails',
    });
    expect(created.status).toBe(201);
    const { request } = (await created.json()) as { request: { id: string } };

    const { context, page } = await loggedIn(tokens.app!, { at: served.url });
    await page.getByRole('link', { name: 'Requests' }).click();
    await page.waitForURL(`${served.url}/requests`);
    await page.getByRole('heading', { name: 'project/app/mailer_key (staging)' }).waitFor();
    // A value of two lines, in the text area: the browser sends CRLF, the vault keeps LF.
    await page.getByText('A value of several lines').click();
    await page.getByLabel('Value, line breaks kept').fill(`${GIVEN_SERVE}\nsecond line`);
    await page.getByRole('button', { name: 'Store in the vault' }).click();
    await page.getByText('Stored project/app/mailer_key (staging) version 1').waitFor();
    expect(await page.content()).not.toContain(GIVEN_SERVE);
    expect(await page.content()).not.toContain('project/app/mailer_key (staging)</h2>');

    const status = (await (await api('GET', `/v1/requests/${request.id}`)).json()) as object;
    expect(status).toMatchObject({ status: 'stored', version: 1 });
    expect(JSON.stringify(status)).not.toContain(GIVEN_SERVE);
    expect((await server.vault.get('project/app/mailer_key', 'staging')).value).toBe(
      `${GIVEN_SERVE}\nsecond line`,
    );
    const actions = await auditActions('project/app/mailer_key');
    expect(actions.slice(0, 4)).toEqual([
      'request_created:ok:token:app-team',
      'request_opened:ok:token:app-team',
      'set:ok:token:app-team',
      'request_stored:ok:token:app-team',
    ]);
    await context.close();
    await served.close();
    await serve.close();
  });

  it('has no serious accessibility violations on any page (axe-core)', async () => {
    const { context, page } = await loggedIn(tokens.admin!, { bypassCSP: true });
    // A pending request, so that its answer form is checked too.
    requests.create({
      path: 'project/app/smtp_password',
      env: 'prod',
      description: 'Sends the password-reset mails',
      actor: 'mcp:axe-agent/1.0',
    });
    const found: string[] = [];
    for (const path of [
      '/',
      '/p/project/app',
      '/s/project/app/database_url?env=staging',
      '/audit',
      '/tokens',
      '/rotation',
      '/incidents',
      '/requests',
      '/p/project/app/manifest',
      '/p/project/billing/manifest',
    ]) {
      await page.goto(`${url}${path}`);
      if (path === '/audit') await page.screenshot({ path: join(SHOTS, 'ui-audit.png') });
      if (path === '/incidents') await page.screenshot({ path: join(SHOTS, 'ui-incidents.png') });
      if (path === '/p/project/app/manifest') {
        await page.screenshot({ path: join(SHOTS, 'ui-manifest.png') });
      }
      found.push(...(await axeViolations(page)).map((v) => `${path} ${v}`));
    }
    const anonymous = await browser.newPage({ bypassCSP: true });
    await anonymous.goto(`${url}/login`);
    found.push(...(await axeViolations(anonymous)).map((v) => `/login ${v}`));
    await anonymous.close();
    expect(found).toEqual([]);
    await context.close();
  }, 240_000);
});
