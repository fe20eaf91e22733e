/**
 * One table of access cases (a path outside the token's globs, another environment, a
 * capability the token lacks, an expired token) run through every front end that talks to a
 * `coffer serve`: the HTTP API itself, the CLI in remote mode and `coffer mcp` in remote
 * mode. Each must refuse with the same error code and leave the same audit record: access is
 * decided in one place (core/access) for all of them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshRequest } from '../helpers/fresh-http.js';
import { type AuditJsonRecord, auditRecords, makeHome } from './harness.js';
import { type McpSession, startMcp } from './mcp-harness.js';
import { type ServeProcess, startServe } from './serve-harness.js';

const PATH = 'project/app/api_key';
const DESCRIPTION = 'API key the app service calls the billing provider with';
const VALUE = 'value-never-in-a-refusal-7Qm';

type Op = 'read' | 'write';
type Front = 'http' | 'cli' | 'mcp';

interface Case {
  name: string;
  token: 'scoped' | 'expired';
  op: Op;
  path: string;
  env: string;
  code: 'FORBIDDEN' | 'UNAUTHENTICATED';
}

const CASES: Case[] = [
  {
    name: 'a path outside the globs',
    token: 'scoped',
    op: 'read',
    path: 'project/other/api_key',
    env: 'dev',
    code: 'FORBIDDEN',
  },
  {
    name: 'another environment',
    token: 'scoped',
    op: 'read',
    path: PATH,
    env: 'prod',
    code: 'FORBIDDEN',
  },
  {
    name: 'a capability the token lacks',
    token: 'scoped',
    op: 'write',
    path: PATH,
    env: 'dev',
    code: 'FORBIDDEN',
  },
  {
    name: 'an expired token',
    token: 'expired',
    op: 'read',
    path: PATH,
    env: 'dev',
    code: 'UNAUTHENTICATED',
  },
];

describe('one access decision for every front end', () => {
  const server = makeHome();
  const client = makeHome();
  const cwd = join(client.home, 'app');
  let serve: ServeProcess;
  const tokens: Record<Case['token'], string> = { scoped: '', expired: '' };
  const sessions: McpSession[] = [];

  beforeAll(async () => {
    mkdirSync(cwd);
    expect(server.run(['init']).code).toBe(0);
    for (const env of ['dev', 'prod']) {
      const r = server.run(['set', PATH, '--env', env, '-d', DESCRIPTION], { input: VALUE });
      expect(r.code, r.stderr).toBe(0);
    }
    let expiresAt = 0;
    const create = (name: string, extra: string[]) => {
      const r = server.run([
        ...['token', 'create', '--name', name, '--allow', 'project/app/*', '--env', 'dev'],
        ...['--cap', 'read,list', '--json', ...extra],
      ]);
      expect(r.code, r.stderr).toBe(0);
      const created = JSON.parse(r.stdout) as { token: string; expiresAt?: string | null };
      if (created.expiresAt) expiresAt = Date.parse(created.expiresAt);
      return created.token;
    };
    tokens.scoped = create('scoped', []);
    tokens.expired = create('expired', ['--ttl', '1s']);
    expect(expiresAt).toBeGreaterThan(0);
    // Until the short token has expired (it was made with a one-second time to live).
    await new Promise((res) => setTimeout(res, Math.max(0, expiresAt - Date.now() + 50)));
    serve = await startServe(server.env, ['--log-level', 'warn']);
  });

  afterAll(async () => {
    for (const s of sessions) await s.close();
    await serve?.stop();
  });

  const lastAudit = (): AuditJsonRecord =>
    auditRecords(server.run(['audit', '--limit', '1', '--json'])).at(-1)!;

  /** Runs one case through one front end; returns the error code it reported. */
  async function attempt(front: Front, c: Case): Promise<string | undefined> {
    const token = tokens[c.token];
    if (front === 'http') {
      const init =
        c.op === 'read'
          ? { headers: { authorization: `Bearer ${token}` } }
          : {
              method: 'PUT',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({ value: 'new-value-1', description: DESCRIPTION }),
            };
      const r = await freshRequest(`${serve.url}/v1/secrets/${c.path}?env=${c.env}`, init);
      const body = JSON.parse(r.text) as { code?: string };
      expect(r.status).toBe(c.code === 'FORBIDDEN' ? 403 : 401);
      return body.code;
    }
    const env = { ...client.env, COFFER_URL: serve.url, COFFER_TOKEN: token };
    if (front === 'cli') {
      const args =
        c.op === 'read'
          ? ['get', c.path, '--env', c.env, '--json']
          : ['set', c.path, '--env', c.env, '-d', DESCRIPTION, '--json'];
      const r = client.run(args, { env, input: 'new-value-1', cwd });
      expect(r.code).toBe(4);
      expect(r.stdout + r.stderr).not.toContain(VALUE);
      return (
        (JSON.parse(r.stdout || r.stderr) as { error?: { code: string }; code?: string }).error
          ?.code ?? JSON.parse(r.stdout || r.stderr).code
      );
    }
    const mcp = await startMcp({ env, cwd, protocol: '2025-11-25' });
    sessions.push(mcp);
    const result =
      c.op === 'read'
        ? await mcp.call('get_secret', { keyPath: c.path, env: c.env })
        : await mcp.call('set_secret', {
            keyPath: c.path,
            env: c.env,
            value: 'new-value-1',
            description: DESCRIPTION,
          });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result)).not.toContain(VALUE);
    return (result.structuredContent as { error: { code: string } }).error.code;
  }

  for (const c of CASES) {
    it(`${c.name}: the same refusal and audit record from HTTP, the CLI and MCP`, async () => {
      const records: Omit<AuditJsonRecord, 'seq'>[] = [];
      for (const front of ['http', 'cli', 'mcp'] as const) {
        if (c.token === 'expired') {
          // Failed authentications from one address are recorded once per window (later ones
          // are counted into one summary: failure-audit.ts); a fresh server has a fresh window.
          await serve.stop();
          serve = await startServe(server.env, ['--log-level', 'warn']);
        }
        const before = lastAudit().seq;
        expect(await attempt(front, c), front).toBe(c.code);
        const rec = lastAudit();
        expect(rec.seq, `${front} wrote an audit record`).toBeGreaterThan(before);
        const { actor, action, path, env, outcome, detail } = rec;
        records.push({ actor, action, path, env, outcome, detail });
      }
      expect(records[0]).toMatchObject({ outcome: 'denied' });
      if (c.code === 'FORBIDDEN') {
        expect(records[0]).toMatchObject({ path: c.path, env: c.env });
        expect(records[0]!.actor).toMatch(/^token:scoped@/);
      } else {
        expect(records[0]!.actor).toMatch(/^token:expired@/);
        expect(records[0]!.detail).toContain('expired');
      }
      expect(records[1]).toEqual(records[0]);
      // MCP names its client after the token (X-Coffer-Agent): the same record otherwise.
      const mcpRecord = records[2]!;
      if (c.code === 'FORBIDDEN') {
        expect(mcpRecord.actor).toBe(`${records[0]!.actor} (mcp:coffer-e2e/1.0.0)`);
      }
      expect({ ...mcpRecord, actor: records[0]!.actor }).toEqual(records[0]);
    });
  }
});
