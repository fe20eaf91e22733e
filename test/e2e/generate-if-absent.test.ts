/**
 * Generate-if-absent is one rule (core/generate/ensure.ts) for `coffer generate --store` and
 * MCP `generate_secret`: the same table of cases gives the same outcome through both.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';
import { type McpSession, startMcp } from './mcp-harness.js';

const PATH = 'project/shop/signing_key';
const DESCRIPTION = 'Signs the session cookies of the shop front end';

type Outcome = { action: 'generated' | 'kept' } | { error: string };

interface Case {
  name: string;
  /** Vault state before the call. */
  vault: 'absent' | 'present' | 'deleted';
  /** The variable in the .env file (CLI only: generate_secret writes no file). */
  file?: 'same' | 'different';
  expected: Outcome;
}

const CASES: Case[] = [
  { name: 'absent', vault: 'absent', expected: { action: 'generated' } },
  { name: 'present', vault: 'present', expected: { action: 'kept' } },
  { name: 'deleted', vault: 'deleted', expected: { error: 'SECRET_DELETED' } },
  {
    name: 'present, the same in the .env file',
    vault: 'present',
    file: 'same',
    expected: { action: 'kept' },
  },
  {
    name: 'present, different in the .env file',
    vault: 'present',
    file: 'different',
    expected: { error: 'VALUE_CONFLICT' },
  },
];

const sessions: McpSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.close();
});

function prepare(c: Case) {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const app = join(h.home, 'app');
  mkdirSync(app);
  if (c.vault !== 'absent') {
    expect(
      h.run(['set', PATH, '-d', DESCRIPTION], { input: 'existing-value-0123456789' }).code,
    ).toBe(0);
  }
  if (c.vault === 'deleted') expect(h.run(['delete', PATH]).code).toBe(0);
  if (c.file !== undefined) {
    writeFileSync(
      join(app, '.env'),
      `SIGNING_KEY=${c.file === 'same' ? 'existing-value-0123456789' : 'another-value-9876543210'}\n`,
    );
  }
  return { h, app };
}

async function viaCli(c: Case): Promise<Outcome> {
  const { h, app } = prepare(c);
  const args = ['generate', 'SIGNING_KEY', '--store', PATH, '-d', DESCRIPTION, '--json'];
  if (c.file !== undefined) args.push('--dotenv', '.env');
  const r = h.run(args, { cwd: app });
  if (r.code !== 0) {
    const body = JSON.parse(r.stdout || r.stderr) as { error?: { code: string }; code?: string };
    return { error: body.error?.code ?? body.code ?? `exit ${r.code}` };
  }
  const out = JSON.parse(r.stdout) as { action: string };
  if (c.file === 'different') {
    expect(readFileSync(join(app, '.env'), 'utf8')).toContain('another-value-9876543210');
  }
  return { action: out.action === 'skipped' ? 'kept' : (out.action as 'generated') };
}

async function viaMcp(c: Case): Promise<Outcome> {
  const { h, app } = prepare(c);
  const mcp = await startMcp({ env: h.env, cwd: app, protocol: '2025-11-25' });
  sessions.push(mcp);
  const r = await mcp.call('generate_secret', {
    keyPath: PATH,
    description: DESCRIPTION,
    kind: 'hex',
  });
  await mcp.close();
  if (r.isError) return { error: (r.structuredContent as { error: { code: string } }).error.code };
  return { action: (r.structuredContent as { action: 'generated' | 'kept' }).action };
}

describe('generate-if-absent: one outcome for coffer generate and generate_secret', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      expect(await viaCli(c)).toEqual(c.expected);
      // generate_secret has no file side; its cases are the vault's.
      if (c.file === undefined) expect(await viaMcp(c)).toEqual(c.expected);
    });
  }
});
