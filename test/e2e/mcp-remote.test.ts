/**
 * `coffer mcp` in remote mode (COFFER_URL + COFFER_TOKEN): the built binary, spawned by the
 * MCP SDK's stdio client in a home without a vault, uses a real `coffer serve` through
 * `coffer/client`. The tools work against the server's vault, within the token's policy as
 * well as --allow; the server audits the calls as the token; values stay out of stderr;
 * a missing token or an unreachable server are clear errors.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';
import { type McpSession, startMcp } from './mcp-harness.js';
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

    const audit = server.run(['audit', '--json', '-n', '200']);
    expect(audit.code, audit.stderr).toBe(0);
    const records = (
      JSON.parse(audit.stdout) as {
        records: { actor: string; action: string; path: string | null; outcome: string }[];
      }
    ).records;
    const sets = records.filter((r) => r.action === 'set' && r.path === DB_URL);
    expect(sets.length).toBe(2);
    for (const r of sets) expect(r.actor).toMatch(/^token:mcp-agent@/);
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
