/**
 * `coffer mcp` in remote mode (COFFER_URL + COFFER_TOKEN): the built binary, spawned by the
 * MCP SDK's stdio client in a home without a vault, uses a real `coffer serve` through
 * `coffer/client`. The tools work against the server's vault, within the token's policy as
 * well as --allow; the server audits the calls as the token; values stay out of stderr;
 * a missing token or an unreachable server are clear errors.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';
import { CLIENT_INFO, type McpSession, startMcp } from './mcp-harness.js';
import { type ServeProcess, startServe } from './serve-harness.js';

const PROTOCOL = '2025-11-25';
const DB_URL = 'project/app/database_url';
const DB_VALUE = 'postgres://app:Rm7-mcp-Remote@db.internal/app';
const DB_DESCRIPTION = 'Database URL of the app service for order storage';

describe('coffer mcp in remote mode against coffer serve', () => {
  const server = makeHome();
  const agent = makeHome();
  const cwd = join(agent.home, 'app');
  const sessions: McpSession[] = [];
  let serve: ServeProcess;
  let remoteEnv: Record<string, string>;
  const start = async (args: string[] = [], env = remoteEnv) => {
    const s = await startMcp({ env, cwd, protocol: PROTOCOL, args });
    sessions.push(s);
    return s;
  };
  let mcp: McpSession;

  beforeAll(async () => {
    mkdirSync(cwd);
    expect(server.run(['init']).code).toBe(0);
    const created = server.run([
      'token',
      'create',
      '--name',
      'mcp-agent',
      '--allow',
      'project/app/*',
      '--env',
      'dev',
      '--cap',
      'read,list,write',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    serve = await startServe(server.env, ['--log-level', 'warn']);
    remoteEnv = { ...agent.env, COFFER_URL: serve.url, COFFER_TOKEN: token };
    mcp = await start();
  });

  afterAll(async () => {
    for (const s of sessions) await s.close();
    await serve?.stop();
  });

  it('stores through the server: set_secret, get_secret, list_secrets, verify_secret', async () => {
    const set = await mcp.call('set_secret', {
      keyPath: DB_URL,
      value: DB_VALUE,
      description: DB_DESCRIPTION,
    });
    expect(set.isError).toBeFalsy();
    expect(set.structuredContent).toMatchObject({
      keyPath: DB_URL,
      env: 'dev',
      version: 1,
      created: true,
      verified: true,
    });
    // The value is in the server's vault, and the agent's home has none.
    expect(server.run(['get', DB_URL]).stdout).toBe(`${DB_VALUE}\n`);
    expect(existsSync(join(agent.env.COFFER_HOME!, 'vault.db'))).toBe(false);

    const got = await mcp.call('get_secret', { keyPath: DB_URL });
    expect(got.structuredContent).toMatchObject({ revealed: true, value: DB_VALUE, version: 1 });

    const listed = await mcp.call('list_secrets', { scope: 'project', project: 'app' });
    const secrets = listed.structuredContent?.secrets as { keyPath: string; description: string }[];
    expect(secrets.map((s) => [s.keyPath, s.description])).toEqual([[DB_URL, DB_DESCRIPTION]]);
    expect(JSON.stringify(listed)).not.toContain(DB_VALUE);

    const verified = await mcp.call('verify_secret', { keyPath: DB_URL });
    expect(verified.structuredContent).toMatchObject({
      keyPath: DB_URL,
      ok: true,
      checked: 1,
      version: 1,
    });

    // A second version through the server.
    const next = await mcp.call('set_secret', { keyPath: DB_URL, value: `${DB_VALUE}-2` });
    expect(next.structuredContent).toMatchObject({ version: 2, created: false });
    expect(server.run(['get', DB_URL]).stdout).toBe(`${DB_VALUE}-2\n`);
  });

  it('generate_secret and write_env put a server-side value into a local .env', async () => {
    const gen = await mcp.call('generate_secret', {
      keyPath: 'project/app/jwt_secret',
      description: 'JWT signing secret of the app',
      kind: 'jwt',
    });
    expect(gen.structuredContent).toMatchObject({ action: 'generated', envVar: 'JWT_SECRET' });
    const again = await mcp.call('generate_secret', {
      keyPath: 'project/app/jwt_secret',
      description: 'JWT signing secret of the app',
    });
    expect(again.structuredContent).toMatchObject({ action: 'kept', version: 1 });
    const jwt = server.run(['get', 'project/app/jwt_secret']).stdout.trim();
    expect(jwt).toMatch(/^[A-Za-z0-9_-]{86}$/);
    // The generator spec went through the API with the value and is stored on the server.
    const listed = JSON.parse(server.run(['list', 'project/app', '--json']).stdout) as {
      items: { path: string; generator: string | null }[];
    };
    const spec = listed.items.find((i) => i.path === 'project/app/jwt_secret')?.generator;
    expect(spec).toBe(gen.structuredContent?.generator);
    expect(spec).toMatch(/^jwt/);

    const written = await mcp.call('write_env', { project: 'app' });
    expect(written.isError).toBeFalsy();
    expect(dotenv.parse(readFileSync(join(cwd, '.env')))).toEqual({
      DATABASE_URL: `${DB_VALUE}-2`,
      JWT_SECRET: jwt,
    });
    for (const r of mcp.results.slice(-3)) expect(r).not.toContain(jwt);
    expect(mcp.stderr()).not.toContain(jwt);
    expect(mcp.stderr()).not.toContain(DB_VALUE);
  });

  it('rotation_status and report_leak go to the server; file writes are recorded there as the token', async () => {
    const status = await mcp.call('rotation_status', { project: 'app' });
    expect(status.isError, JSON.stringify(status)).toBeFalsy();
    const items = status.structuredContent?.items as { keyPath: string; state: string }[];
    expect(items.map((i) => i.keyPath).sort()).toEqual([DB_URL, 'project/app/jwt_secret']);

    // The agent's write_env (previous test) and a CLI env pull and inject in remote mode.
    const tpl = join(cwd, 'db.tpl');
    writeFileSync(tpl, `url: {{ coffer://${DB_URL} }}\n`);
    const cli = (args: string[]) => agent.run(args, { env: remoteEnv, cwd });
    expect(cli(['env', 'pull', '--project', 'app', '--file', '.env.local']).code).toBe(0);
    const injected = cli(['inject', '-i', 'db.tpl', '-o', 'db.yaml']);
    expect(injected.code, injected.stderr).toBe(0);

    const leak = await mcp.call('report_leak', {
      keyPath: DB_URL,
      where: 'printed in the CI log of job 7',
    });
    expect(leak.isError, JSON.stringify(leak)).toBeFalsy();
    expect(leak.structuredContent).toMatchObject({ keyPath: DB_URL, resumed: false });
    expect(JSON.stringify(leak)).not.toContain(DB_VALUE);
    const after = await mcp.call('rotation_status', { project: 'app' });
    expect(after.structuredContent?.overdue).toBe(1);

    // On the server: the incident, opened by the token, and the files to update.
    const incidents = JSON.parse(server.run(['incident', 'list', '--json']).stdout) as {
      incidents: { path: string; openedBy: string }[];
    };
    expect(incidents.incidents[0]).toMatchObject({ path: DB_URL });
    expect(incidents.incidents[0]!.openedBy).toMatch(/^token:mcp-agent@/);
    const rotated = server.run(['rotate', DB_URL, '--grace', '0', '--value-stdin', '--json'], {
      input: `${DB_VALUE}-rotated`,
    });
    expect(rotated.code, rotated.stderr).toBe(0);
    const r = JSON.parse(rotated.stdout) as {
      staleFiles: { file: string; via: string; actor: string }[];
    };
    const stale = r.staleFiles.map((f) => [f.file, f.via]).sort();
    expect(stale).toEqual(
      [
        [join(cwd, '.env'), 'mcp write_env'],
        [join(cwd, '.env.local'), 'env pull'],
        [join(cwd, 'db.yaml'), 'inject'],
      ].sort(),
    );
    for (const f of r.staleFiles) expect(f.actor).toMatch(/^token:mcp-agent@/);
    expect(rotated.stdout).not.toContain(DB_VALUE);
  });

  it("the token's policy applies, and the server audits the calls as the token", async () => {
    const outside = await mcp.call('set_secret', {
      keyPath: 'project/other/api_key',
      value: 'other-Value-5521',
      description: 'API key of the other service for billing',
    });
    expect(outside.isError).toBe(true);
    expect(outside.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const prod = await mcp.call('get_secret', { keyPath: DB_URL, env: 'prod' });
    expect(prod.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(server.run(['get', 'project/other/api_key']).code).toBe(3);

    // --allow narrows further on the agent's side.
    const scoped = await start(['--allow', 'project/app/jwt_*']);
    const denied = await scoped.call('get_secret', { keyPath: DB_URL });
    expect(denied.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    // ... also for what a stored value refers to: the token could read it, --allow cannot.
    const ref = `{{ coffer://${DB_URL} }}`;
    const steal = await scoped.call('set_secret', {
      keyPath: 'project/app/jwt_steal',
      value: ref,
      description: 'A reference to what --allow leaves out',
    });
    expect(steal.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(server.run(['get', 'project/app/jwt_steal']).code).toBe(3);
    const derived = server.run(
      ['set', 'project/app/jwt_issuer', '-d', 'Issuer of the JWTs, derived from the DB URL'],
      { input: ref },
    );
    expect(derived.code, derived.stderr).toBe(0);
    const wrote = await scoped.call('write_env', { project: 'app', file: '.env.scoped' });
    expect(JSON.stringify(wrote)).not.toContain(DB_VALUE);
    const scopedFile = join(cwd, '.env.scoped');
    if (existsSync(scopedFile)) expect(readFileSync(scopedFile, 'utf8')).not.toContain(DB_VALUE);
    expect(wrote.isError).toBe(true);
    expect(server.run(['delete', 'project/app/jwt_issuer']).code).toBe(0);

    const audit = server.run(['audit', '--json', '-n', '200']);
    expect(audit.code, audit.stderr).toBe(0);
    const records = (
      JSON.parse(audit.stdout) as {
        records: { actor: string; action: string; path: string | null; outcome: string }[];
      }
    ).records;
    const sets = records.filter((r) => r.action === 'set' && r.path === DB_URL);
    expect(sets.length).toBe(2);
    // The token's name first, then the MCP client as it declared itself (a label).
    for (const r of sets) {
      expect(r.actor).toBe(
        `token:mcp-agent@127.0.0.1 (mcp:${CLIENT_INFO.name}/${CLIENT_INFO.version})`,
      );
    }
    expect(
      records.some(
        (r) =>
          r.outcome === 'denied' &&
          r.path === 'project/other/api_key' &&
          r.actor.startsWith('token:mcp-agent@'),
      ),
    ).toBe(true);
    expect(audit.stdout).not.toContain(DB_VALUE);
  });

  it('without COFFER_TOKEN it refuses to start; an unreachable server is an error result', async () => {
    const noToken = agent.run(['mcp'], { env: { COFFER_URL: serve.url } });
    expect(noToken.code).toBe(4);
    expect(noToken.stderr).toContain('COFFER_TOKEN');
    expect(noToken.stdout).toBe('');

    // A port nothing listens on (the server's own port, with the server stopped, would race).
    const down = await start([], { ...remoteEnv, COFFER_URL: 'http://127.0.0.1:1' });
    const r = await down.call('get_secret', { keyPath: DB_URL });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({ error: { code: 'SERVER_UNREACHABLE' } });
    expect(JSON.stringify(r)).not.toContain(remoteEnv.COFFER_TOKEN);
    expect(down.stderr()).not.toContain(remoteEnv.COFFER_TOKEN);
  });
});

describe('remote mode: the agent is recorded, a --no-reveal token reads no value', () => {
  const server = makeHome();
  const agent = makeHome();
  const cwd = join(agent.home, 'app');
  const VALUE = 'sk_live_Remote-NoReveal-7Hq2';
  let serve: ServeProcess;
  let token: string;
  let mcp: McpSession;

  beforeAll(async () => {
    mkdirSync(cwd);
    expect(server.run(['init']).code).toBe(0);
    expect(server.run(['set', DB_URL, '-d', DB_DESCRIPTION], { input: VALUE }).code).toBe(0);
    const made = server.run([
      'token',
      'create',
      '--name',
      'claude',
      '--allow',
      'project/app/*',
      '--cap',
      'read,list,write',
      '--no-reveal',
      '--json',
    ]);
    expect(made.code, made.stderr).toBe(0);
    token = (JSON.parse(made.stdout) as { token: string }).token;
    const listed = JSON.parse(server.run(['token', 'list', '--json']).stdout) as {
      tokens: { name: string; noReveal: boolean }[];
    };
    expect(listed.tokens.find((t) => t.name === 'claude')?.noReveal).toBe(true);
    serve = await startServe(server.env, ['--log-level', 'warn']);
    mcp = await startMcp({
      env: {
        ...agent.env,
        COFFER_URL: serve.url,
        COFFER_TOKEN: token,
        COFFER_AGENT_ID: 'reviewer-1',
      },
      cwd,
      protocol: PROTOCOL,
      // The agent's side allows revealing: the token on the server decides.
      args: ['--reveal', 'allow'],
    });
  });

  afterAll(async () => {
    await mcp?.close();
    await serve?.stop();
  });

  const audit = () =>
    (
      JSON.parse(server.run(['audit', '--json', '-n', '500']).stdout) as {
        records: {
          actor: string;
          action: string;
          path: string | null;
          outcome: string;
          detail: string | null;
        }[];
      }
    ).records;

  it('get_secret and write_env are refused by the server (403, audited with the agent)', async () => {
    const got = await mcp.call('get_secret', { keyPath: DB_URL });
    expect(got.isError).toBe(true);
    expect(got.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const written = await mcp.call('write_env', { project: 'app' });
    expect(written.isError).toBe(true);
    expect(existsSync(join(cwd, '.env'))).toBe(false);
    for (const r of mcp.results) expect(r).not.toContain(VALUE);
    expect(mcp.stderr()).not.toContain(VALUE);
    const actor = `token:claude@127.0.0.1 (mcp:${CLIENT_INFO.name}/${CLIENT_INFO.version} agent:reviewer-1)`;
    const denied = audit().filter((r) => r.outcome === 'denied');
    expect(denied.some((r) => r.action === 'get' && r.actor === actor)).toBe(true);
    // write_env reads each value it writes: refused the same way.
    expect(written.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(denied.filter((r) => r.action === 'get' && r.actor === actor).length).toBe(2);
    expect(denied.every((r) => r.detail === 'values may not be revealed')).toBe(true);
  });

  it('set_secret, generate_secret and verify_secret still work', async () => {
    const set = await mcp.call('set_secret', {
      keyPath: 'project/app/webhook_secret',
      value: 'whsec_Remote-Set-9kP',
      description: 'Webhook signing secret of the app for payment events',
    });
    expect(set.isError, JSON.stringify(set.structuredContent)).toBeFalsy();
    expect(set.structuredContent).toMatchObject({ version: 1, created: true, verified: true });
    const gen = await mcp.call('generate_secret', {
      keyPath: 'project/app/session_key',
      description: 'Session cookie signing key of the app',
    });
    expect(gen.structuredContent).toMatchObject({ action: 'generated', version: 1 });
    const verified = await mcp.call('verify_secret', { keyPath: DB_URL });
    expect(verified.structuredContent).toMatchObject({ ok: true });
  });

  it('a forged agent header is refused, and a valid one lifts nothing', async () => {
    const get = (agentHeader: string) =>
      fetch(`${serve.url}/v1/secrets/${DB_URL}`, {
        headers: { authorization: `Bearer ${token}`, 'x-coffer-agent': agentHeader },
      });
    for (const forged of [
      'token:root@10.0.0.1',
      'mcp:claude/1.0) (token:admin@10.0.0.9',
      `mcp:${'x'.repeat(200)}`,
      'mcp:claude/1.0 agent:a b',
    ]) {
      const answer = await get(forged);
      expect(answer.status, forged).toBe(400);
      const body = (await answer.json()) as { code: string; message: string };
      expect(body.code).toBe('INVALID_ARGUMENT');
      expect(body.message).not.toContain(forged);
    }
    // A well-formed label that claims to be another agent is recorded as a label, and the
    // token still reads no value.
    const claimed = await get('mcp:admin-console/9.9 agent:root');
    expect(claimed.status).toBe(403);
    expect(await claimed.text()).not.toContain(VALUE);
    const records = audit();
    expect(
      records.some((r) => r.actor === 'token:claude@127.0.0.1 (mcp:admin-console/9.9 agent:root)'),
    ).toBe(true);
    expect(JSON.stringify(records)).not.toContain('token:root@10.0.0.1');
    expect(JSON.stringify(records)).not.toContain(VALUE);
  });
});
