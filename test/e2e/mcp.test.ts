/**
 * `coffer mcp` end to end: the built binary spawned by the MCP SDK's stdio client, once
 * negotiating the newest protocol version (2025-11-25) and once an older one (2025-03-26),
 * running the store-first workflow and the acceptance checks of `coffer mcp`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProtocolError } from '@modelcontextprotocol/client';
import dotenv from 'dotenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, STRIPE_DESCRIPTION } from './harness.js';
import {
  CLIENT_INFO,
  type McpSession,
  STRIPE,
  STRIPE_VALUE,
  startMcp,
  TOOLS,
  textJson,
} from './mcp-harness.js';

describe.each(['2025-11-25', '2025-03-26'])('coffer mcp over stdio, protocol %s', (protocol) => {
  const h = makeHome();
  const cwd = join(h.home, 'consilio');
  const env = { ...h.env, COFFER_AGENT_ID: 'e2e-agent-7' };
  const sessions: McpSession[] = [];
  let mcp: McpSession;
  const start = async (args: string[] = []) => {
    const s = await startMcp({ env, cwd, protocol, args });
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    mkdirSync(cwd);
    expect(h.run(['init']).code).toBe(0);
    mcp = await start();
  });
  afterAll(async () => {
    for (const s of sessions) await s.close();
  });

  it('negotiates the requested protocol version', () => {
    expect(mcp.client.getNegotiatedProtocolVersion()).toBe(protocol);
    expect(mcp.client.getServerVersion()?.name).toBe('coffer');
  });

  it('lists the tools with argument names, schemas and honest annotations', async () => {
    const { tools } = await mcp.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOLS);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    const args = (name: string) => Object.keys(byName[name]!.inputSchema.properties ?? {});
    expect(args('set_secret')).toEqual(['keyPath', 'value', 'description', 'env', 'allowEmpty']);
    expect(args('get_secret')).toEqual(['keyPath', 'env']);
    expect(args('list_secrets')).toEqual(['scope', 'project', 'env']);
    expect(args('verify_secret')).toEqual(['keyPath', 'env']);
    expect(args('generate_secret')).toEqual(['keyPath', 'description', 'kind', 'length', 'env']);
    expect(args('write_env')).toEqual(['project', 'env', 'file', 'keyPaths']);
    expect(args('manifest_status')).toEqual(['env']);
    expect(args('rotation_status')).toEqual(['project', 'env', 'dueWithin']);
    expect(args('report_leak')).toEqual(['keyPath', 'where', 'env']);
    const props = byName.list_secrets!.inputSchema.properties as Record<
      string,
      { enum?: string[] }
    >;
    expect(props.scope?.enum).toEqual(['project', 'meta']);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
      expect(t.description?.length).toBeGreaterThan(40);
    }
    expect(Object.keys(byName.set_secret!.outputSchema?.properties ?? {})).toEqual([
      'keyPath',
      'env',
      'version',
      'created',
      'verified',
      'preview',
    ]);
    for (const name of [
      'get_secret',
      'list_secrets',
      'verify_secret',
      'manifest_status',
      'rotation_status',
    ]) {
      expect(byName[name]!.annotations).toMatchObject({
        readOnlyHint: true,
        destructiveHint: false,
      });
    }
    expect(byName.set_secret!.annotations).toMatchObject({
      readOnlyHint: false,
      idempotentHint: false,
    });
    expect(byName.write_env!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
    });
  });

  it('runs the seed workflow: set_secret, then write_env, then verify_secret', async () => {
    const set = await mcp.call('set_secret', {
      keyPath: STRIPE,
      value: STRIPE_VALUE,
      description: STRIPE_DESCRIPTION,
    });
    expect(set.isError).toBeFalsy();
    expect(set.structuredContent).toEqual({
      keyPath: STRIPE,
      env: 'dev',
      version: 1,
      created: true,
      verified: true,
      preview: 'sk…',
    });
    expect(textJson(set)).toEqual(set.structuredContent);

    const written = await mcp.call('write_env', { project: 'consilio' });
    expect(written.structuredContent).toMatchObject({ file: '.env', written: ['STRIPE_API_KEY'] });
    expect(dotenv.parse(readFileSync(join(cwd, '.env')))).toEqual({ STRIPE_API_KEY: STRIPE_VALUE });
    expect(statSync(join(cwd, '.env')).mode & 0o777).toBe(0o600);

    const verified = await mcp.call('verify_secret', { keyPath: STRIPE });
    expect(verified.structuredContent).toMatchObject({
      keyPath: STRIPE,
      ok: true,
      checked: 1,
      version: 1,
    });
    expect(JSON.stringify([set, written, verified])).not.toContain('abc123xyz');

    // The seed's own check: with --reveal allow (the default) get_secret returns the value.
    const got = await mcp.call('get_secret', { keyPath: STRIPE });
    expect(got.structuredContent).toMatchObject({
      revealed: true,
      value: STRIPE_VALUE,
      version: 1,
    });
  });

  it('lists metadata without values', async () => {
    const one = await mcp.call('list_secrets', { scope: 'project', project: 'consilio' });
    const secrets = one.structuredContent?.secrets as { keyPath: string; description: string }[];
    expect(secrets.map((s) => s.keyPath)).toContain(STRIPE);
    expect(secrets.find((s) => s.keyPath === STRIPE)?.description).toBe(STRIPE_DESCRIPTION);
    const all = await mcp.call('list_secrets', { scope: 'project' });
    expect(all.structuredContent?.projects).toEqual([
      { name: 'consilio', secrets: secrets.length },
    ]);
    expect(JSON.stringify([one, all])).not.toMatch(/abc123xyz|sk_l…/);
  });

  it('refuses project/CONSILIO/Key with a suggestion, and a generic description', async () => {
    const bad = await mcp.call('set_secret', {
      keyPath: 'project/CONSILIO/Key',
      value: 'abc123',
      description: 'Consilio key for the billing service',
    });
    expect(bad.isError).toBe(true);
    const error = (bad.structuredContent as { error: { code: string; hint: string } }).error;
    expect(error.code).toBe('INVALID_PATH');
    expect(error.hint).toContain('did you mean project/consilio/key');
    expect(textJson(bad)).toEqual(bad.structuredContent);

    for (const description of ['API key', 'Password', 'Secret', '']) {
      const generic = await mcp.call('set_secret', {
        keyPath: 'project/consilio/key',
        value: 'abc123',
        description,
      });
      expect(generic.isError).toBe(true);
      expect(generic.structuredContent).toMatchObject({ error: { code: 'INVALID_DESCRIPTION' } });
      expect(JSON.stringify(generic)).toContain('Stripe API key for payment processing');
    }
    expect(h.run(['get', 'project/consilio/key']).code).toBe(3);
  });

  it('generate_secret + write_env make a .env dotenv reads; the value is in no tool result', async () => {
    const gen = await mcp.call('generate_secret', {
      keyPath: 'project/consilio/jwt_secret',
      description: 'JWT signing secret for authentication',
      kind: 'jwt',
    });
    expect(gen.structuredContent).toMatchObject({
      action: 'generated',
      generator: 'jwt:64',
      envVar: 'JWT_SECRET',
    });
    const again = await mcp.call('generate_secret', {
      keyPath: 'project/consilio/jwt_secret',
      description: 'JWT signing secret for authentication',
    });
    expect(again.structuredContent).toMatchObject({ action: 'kept', version: 1 });
    const write = await mcp.call('write_env', { project: 'consilio', file: 'config/.env.local' });
    expect(write.structuredContent).toMatchObject({ file: 'config/.env.local' });
    const value = h.run(['get', 'project/consilio/jwt_secret']).stdout.trim();
    expect(value).toMatch(/^[A-Za-z0-9_-]{86}$/);
    const parsed = dotenv.parse(readFileSync(join(cwd, 'config/.env.local')));
    expect(parsed).toEqual({ STRIPE_API_KEY: STRIPE_VALUE, JWT_SECRET: value });
    for (const r of mcp.results) expect(r).not.toContain(value);
    expect(mcp.stderr()).not.toContain(value);
  });

  it('refuses write_env outside the working directory and warns about files git does not ignore', async () => {
    const outside = await mcp.call('write_env', { project: 'consilio', file: '../escape.env' });
    expect(outside.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(existsSync(join(h.home, 'escape.env'))).toBe(false);
    const nul = await mcp.call('write_env', { project: 'consilio', file: 'a\u0000.env' });
    expect(nul.structuredContent).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    if (spawnSync('git', ['init', '-q', cwd]).status !== 0) return; // no git here
    const warned = await mcp.call('write_env', { project: 'consilio' });
    expect(warned.structuredContent?.warnings).toEqual([
      '.env is not ignored by git: add it to .gitignore so its secrets are never committed',
    ]);
    writeFileSync(join(cwd, '.gitignore'), '.env\nconfig/\n');
    expect(
      (await mcp.call('write_env', { project: 'consilio' })).structuredContent?.warnings,
    ).toEqual([]);
  });

  it('answers malformed arguments with an error result naming the field, unknown tools with a JSON-RPC error', async () => {
    const bad = await mcp.call('set_secret', {
      keyPath: STRIPE,
      value: 4815162342,
      description: STRIPE_DESCRIPTION,
    });
    expect(bad.isError).toBe(true);
    const text = bad.content[0]?.text ?? '';
    expect(text).toMatch(/\bvalue\b/);
    expect(text).not.toContain('4815162342');
    const badKind = await mcp.call('generate_secret', {
      keyPath: 'project/consilio/x',
      description: 'Signing key for the x service',
      kind: 'sk_live_notakind',
    });
    expect(badKind.isError).toBe(true);
    expect(badKind.content[0]?.text).toContain('kind');
    expect(badKind.content[0]?.text).not.toContain('sk_live_notakind');

    const unknown = await mcp.client
      .callTool({ name: 'delete_secret', arguments: { keyPath: STRIPE } })
      .catch((e) => e);
    expect(unknown).toBeInstanceOf(ProtocolError);
    expect((unknown as ProtocolError).code).toBe(-32602);
    expect((unknown as ProtocolError).message).toContain('delete_secret');
  });

  it('enforces --allow scope', async () => {
    expect(
      h.run(['set', 'project/other/token', '-d', 'Deploy token of the other project for CI'], {
        input: 'other-value-123',
      }).code,
    ).toBe(0);
    const scoped = await start(['--allow', 'project/consilio/*']);
    const denied = await scoped.call('get_secret', { keyPath: 'project/other/token' });
    expect(denied.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(JSON.stringify(denied)).toContain('project/consilio/*');
    const setDenied = await scoped.call('set_secret', {
      keyPath: 'meta/cloudflare/api_token',
      value: 'cf-value',
      description: 'Cloudflare API token for DNS updates',
    });
    expect(setDenied.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(
      (await scoped.call('list_secrets', { scope: 'project', project: 'other' })).isError,
    ).toBe(true);
    expect((await scoped.call('write_env', { project: 'other' })).isError).toBe(true);
    const visible = await scoped.call('list_secrets', { scope: 'project' });
    expect(visible.structuredContent?.projects).toEqual([{ name: 'consilio', secrets: 2 }]);
    expect((await scoped.call('get_secret', { keyPath: STRIPE })).structuredContent).toMatchObject({
      value: STRIPE_VALUE,
    });
    expect(JSON.stringify(scoped.results)).not.toContain('other-value-123');
  });

  it('enforces --read-only and --reveal never', async () => {
    const ro = await start(['--read-only', '--reveal', 'never']);
    const { tools } = await ro.client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      'get_secret',
      'list_secrets',
      'verify_secret',
      'manifest_status',
      'rotation_status',
      'request_status',
    ]);
    const refused = await ro.client
      .callTool({
        name: 'set_secret',
        arguments: { keyPath: STRIPE, value: 'x', description: STRIPE_DESCRIPTION },
      })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(ProtocolError);
    const got = await ro.call('get_secret', { keyPath: STRIPE });
    expect(got.structuredContent).toEqual({
      keyPath: STRIPE,
      env: 'dev',
      version: 1,
      description: STRIPE_DESCRIPTION,
      revealed: false,
      preview: 'sk…',
    });
    expect(h.run(['get', STRIPE]).stdout).toBe(`${STRIPE_VALUE}\n`);
  });

  it('records the client name, version and COFFER_AGENT_ID in the audit log', () => {
    const audit = JSON.parse(h.run(['audit', '--json']).stdout) as {
      records: { actor: string; action: string; path: string | null }[];
    };
    const actor = `mcp:${CLIENT_INFO.name}/${CLIENT_INFO.version} agent:e2e-agent-7`;
    const sets = audit.records.filter((r) => r.action === 'set' && r.path === STRIPE);
    expect(sets.map((r) => r.actor)).toEqual([actor]);
    expect(
      audit.records.filter((r) => r.actor.startsWith('mcp:')).every((r) => r.actor === actor),
    ).toBe(true);
    expect(h.run(['audit', 'verify']).code).toBe(0);
  });

  it('writes only protocol messages on stdout and logs JSON lines on stderr', () => {
    for (const s of sessions) expect(s.errors).toEqual([]);
    const lines = mcp.stderr().trim().split('\n');
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('msg');
    expect(mcp.stderr()).toContain('"msg":"client connected"');
    expect(mcp.stderr()).not.toContain(STRIPE_VALUE);
  });
});
