/**
 * request_secret in remote mode: `coffer mcp` (COFFER_URL + COFFER_TOKEN) opens the request on
 * `coffer serve`, which serves the one-time page, so a team member can answer it from another
 * machine. The SDK's client plays the agent's host (URL elicitation, or the link and
 * request_status) and the user (opens the page over HTTP, submits a value). The value reaches
 * the server's vault and no MCP message, log line or audit record; the link works once, only
 * for its host and origin; every outcome is audited with the agent's identity.
 *
 * With COFFER_TEST_DATABASE_URL: two `coffer serve` instances on one PostgreSQL schema behind
 * one public address; the request is made through one and answered on the other.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';
import { type Answer, callTool, http, playUser, startRequestSession } from './request-harness.js';
import {
  randomMasterKey,
  reportSkipped,
  type ServeProcess,
  startServe,
  TEST_DATABASE_URL,
  type ThrowAwayDatabase,
  throwAwayDatabase,
} from './serve-harness.js';

reportSkipped('request_secret through two `coffer serve` instances on PostgreSQL');

const DESCRIPTION = 'Stripe secret key for the shop checkout';
const PATH = 'project/shop/stripe_key';
const AGENT = 'mcp:request-e2e/1.0.0 agent:helper';

interface AuditLine {
  actor: string;
  action: string;
  path: string | null;
  outcome: string;
}

describe('request_secret through coffer serve (SQLite)', { timeout: 120_000 }, () => {
  const server = makeHome();
  const agent = makeHome();
  const cwd = join(agent.home, 'shop');
  let serve: ServeProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    mkdirSync(cwd);
    expect(server.run(['init']).code).toBe(0);
    const made = server.run([
      'token',
      'create',
      '--name',
      'agent',
      '--allow',
      'project/shop/*',
      '--cap',
      'read,list,write',
      '--json',
    ]);
    expect(made.code, made.stderr).toBe(0);
    serve = await startServe(server.env, ['--log-level', 'warn']);
    env = {
      ...agent.env,
      COFFER_URL: serve.url,
      COFFER_TOKEN: (JSON.parse(made.stdout) as { token: string }).token,
      COFFER_AGENT_ID: 'helper',
    };
  });

  afterAll(async () => {
    await serve?.stop();
  });

  const audit = () =>
    (JSON.parse(server.run(['audit', '--json', '-n', '500']).stdout) as { records: AuditLine[] })
      .records;

  for (const [protocol, path, file, name] of [
    ['2025-11-25', PATH, '.env', 'STRIPE_KEY'],
    ['2026-07-28', 'project/shop/modern_key', '.env.modern', 'MODERN_KEY'],
  ] as const) {
    it(`URL elicitation (${protocol}): the page on the server stores the value, the .env is written here`, async () => {
      const value = `sk_live_Remote-Elicit-51xQ-${protocol}`;
      let page: Answer | undefined;
      const s = await startRequestSession(
        env,
        cwd,
        {
          reply: 'accept',
          user: async (url) => {
            expect(url.startsWith(`${serve.url}/r/`)).toBe(true);
            page = await playUser(url, value);
          },
        },
        protocol,
      );
      const r = await callTool(s, 'request_secret', {
        keyPath: path,
        description: DESCRIPTION,
        writeEnv: file,
      });
      expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ status: 'stored', version: 1, written: [name] });
      expect(page?.status).toBe(200);
      // 2026-07-28 has no server-to-client requests: the elicitation rode an input_required.
      expect(s.wire.some((m) => m.includes('input_required'))).toBe(protocol >= '2026');
      expect(server.run(['get', path]).stdout).toBe(`${value}\n`);
      expect(dotenv.parse(readFileSync(join(cwd, file)))).toEqual({ [name]: value });
      for (const m of s.wire) expect(m).not.toContain(value);
      expect(s.stderr()).not.toContain(value);
      expect(serve.stderr()).not.toContain(value);
      const records = audit();
      expect(JSON.stringify(records)).not.toContain(value);
      const actor = `token:agent@127.0.0.1 (${AGENT})`;
      for (const action of ['request_created', 'request_opened', 'request_stored', 'set']) {
        expect(
          records.some((x) => x.action === action && x.path === path && x.actor === actor),
          action,
        ).toBe(true);
      }
    });
  }

  it('the link works once, for its own host and origin only; link + request_status', async () => {
    const s = await startRequestSession(env, cwd);
    const r = await callTool(s, 'request_secret', { keyPath: PATH, description: DESCRIPTION });
    expect(r.structuredContent).toMatchObject({ status: 'pending' });
    const { url, requestId } = r.structuredContent as { url: string; requestId: string };
    // A DNS-rebinding name pointing at the server gets nothing.
    expect((await http('GET', url, { Host: 'evil.example' })).status).toBe(421);
    const page = await http('GET', url);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const form = new URLSearchParams({ csrf, action: 'store', value: 'sk_live_Wrong-Origin-1' });
    const type = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const foreign = await http(
      'POST',
      url,
      { ...type, Origin: 'http://evil.example' },
      form.toString(),
    );
    expect(foreign.status).toBe(403);
    const badCsrf = new URLSearchParams({ csrf: 'x'.repeat(43), action: 'store', value: 'v-1234' });
    expect(
      (await http('POST', url, { ...type, Origin: new URL(url).origin }, badCsrf.toString()))
        .status,
    ).toBe(403);
    const pending = await callTool(s, 'request_status', { requestId });
    expect(pending.structuredContent).toMatchObject({ status: 'opened' });
    const value = 'sk_live_Remote-Link-77aa';
    expect((await playUser(url, value)).status).toBe(200);
    const done = await callTool(s, 'request_status', { requestId });
    expect(done.structuredContent).toMatchObject({ status: 'stored', version: 2 });
    expect(server.run(['get', PATH]).stdout).toBe(`${value}\n`);
    // Spent: a second use is refused, and so is a made-up token.
    expect((await http('GET', url)).status).toBe(410);
    expect((await http('GET', url.replace(/\/[^/]+$/, `/${'A'.repeat(43)}`))).status).toBe(404);
    expect(existsSync(join(cwd, '.env'))).toBe(true);
    for (const m of s.wire) expect(m).not.toContain(value);
  });

  it('the user declines on the page: nothing stored, audited', async () => {
    const s = await startRequestSession(env, cwd, {
      reply: 'accept',
      user: (url) => playUser(url, null),
    });
    const r = await callTool(s, 'request_secret', {
      keyPath: 'project/shop/other_key',
      description: 'Webhook secret for the shop order events',
    });
    expect(r.structuredContent).toMatchObject({ status: 'declined' });
    expect(server.run(['get', 'project/shop/other_key']).code).toBe(3);
    expect(
      audit().some((x) => x.action === 'request_declined' && x.path === 'project/shop/other_key'),
    ).toBe(true);
  });
});

describe.skipIf(TEST_DATABASE_URL === undefined)(
  'request_secret through two coffer serve instances on PostgreSQL',
  { timeout: 120_000 },
  () => {
    let db: ThrowAwayDatabase;
    let a: ServeProcess;
    let b: ServeProcess;
    let env: Record<string, string>;
    let run: ReturnType<typeof makeHome>['run'];
    let serverEnv: Record<string, string>;
    const agent = makeHome();
    const cwd = join(agent.home, 'shop');
    const PUBLIC = 'http://coffer.test';

    beforeAll(async () => {
      mkdirSync(cwd);
      db = throwAwayDatabase(TEST_DATABASE_URL!, 'coffer_requests');
      const h = makeHome();
      serverEnv = { ...h.env, COFFER_DATABASE_URL: db.url, COFFER_MASTER_KEY: randomMasterKey() };
      run = (args, o = {}) => h.run(args, { ...o, env: { ...serverEnv, ...o.env } });
      expect(run(['init']).code).toBe(0);
      const made = run([
        'token',
        'create',
        '--name',
        'agent',
        '--allow',
        'project/shop/*',
        '--cap',
        'list,write',
        '--no-reveal',
        '--json',
      ]);
      expect(made.code, made.stderr).toBe(0);
      // Both behind one public address (a load balancer): the page is served for its host.
      a = await startServe(serverEnv, ['--log-level', 'warn', '--public-url', PUBLIC]);
      b = await startServe(serverEnv, ['--log-level', 'warn', '--public-url', PUBLIC]);
      env = {
        ...agent.env,
        COFFER_URL: a.url,
        COFFER_TOKEN: (JSON.parse(made.stdout) as { token: string }).token,
        COFFER_AGENT_ID: 'helper',
      };
    });

    afterAll(async () => {
      await a?.stop();
      await b?.stop();
      await db?.drop();
    });

    it('made through one instance, answered on the other, once', async () => {
      const value = 'sk_live_Cluster-Request-3Zp';
      let url = '';
      const s = await startRequestSession(env, cwd, {
        reply: 'accept',
        user: async (u) => {
          url = u;
          // The user's browser reaches the other instance.
          await playUser(u, value, b.url);
        },
      });
      const r = await callTool(s, 'request_secret', { keyPath: PATH, description: DESCRIPTION });
      expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ status: 'stored', version: 1 });
      expect(url.startsWith(`${PUBLIC}/r/`)).toBe(true);
      expect(run(['get', PATH]).stdout).toBe(`${value}\n`);
      // Spent on both instances.
      expect((await http('GET', url, {}, undefined, a.url)).status).toBe(410);
      expect((await http('GET', url, {}, undefined, b.url)).status).toBe(410);
      for (const m of s.wire) expect(m).not.toContain(value);
      const records = (
        JSON.parse(run(['audit', '--json', '-n', '200']).stdout) as { records: AuditLine[] }
      ).records;
      expect(JSON.stringify(records)).not.toContain(value);
      const actor = `token:agent@127.0.0.1 (${AGENT})`;
      for (const action of ['request_created', 'request_opened', 'request_stored', 'set']) {
        expect(
          records.some((x) => x.action === action && x.actor === actor),
          action,
        ).toBe(true);
      }
      expect(run(['audit', 'verify']).code).toBe(0);
    });
  },
);
