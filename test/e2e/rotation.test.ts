/**
 * `coffer rotation status` as a user (or a scheduled CI job) runs it: secrets stored through
 * the library with a clock in the past, then the binary reports on them now.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Vault } from '../../src/core/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { makeHome } from './harness.js';

const DAY = 86_400_000;

/** A home with a vault made by `coffer init`, and the library's view of it. */
function home() {
  const h = makeHome();
  const key = randomBytes(32);
  const env = { ...h.env, COFFER_MASTER_KEY: key.toString('base64') };
  expect(h.run(['init'], { env }).code).toBe(0);
  const file = join(h.env.COFFER_HOME!, 'vault.db');
  /** Runs `fn` on the vault with its clock set `daysAgo` days in the past. */
  const at = async (daysAgo: number, fn: (v: Vault) => Promise<unknown>) => {
    const storage = openSqliteStorage(file);
    const vault = new Vault(storage, new Uint8Array(key), {
      actor: 'cli:alice',
      now: () => new Date(Date.now() - daysAgo * DAY),
    });
    try {
      await fn(vault);
    } finally {
      vault.close();
      await storage.close();
    }
  };
  return { run: (args: string[]) => h.run(args, { env }), at };
}

describe('coffer rotation status', () => {
  it('--fail-on-overdue exits 1 exactly when something is overdue', async () => {
    const h = home();
    await h.at(100, (v) =>
      v.set('project/agents/openai_api_key', 'prod', 'sk-old-value-123', {
        description: 'LLM access for the support assistant summaries',
        metadata: { rotation: '90d' },
      }),
    );
    await h.at(10, (v) =>
      v.set('project/web/secret_key', 'prod', 'jwt-value-456', {
        description: 'Signs session cookies for logged-in users',
        metadata: { rotation: '1y' },
      }),
    );
    const all = h.run(['rotation', 'status', '--fail-on-overdue']);
    expect(all.code, all.stderr).toBe(1);
    expect(all.stdout).toMatch(
      /overdue\s+project\/agents\/openai_api_key\s+prod\s+90d\s+100d\s+10d overdue\s+never rotated/,
    );
    expect(all.stderr).toContain('next: coffer rotate project/agents/openai_api_key --env prod');
    const web = h.run(['rotation', 'status', '--project', 'web', '--fail-on-overdue']);
    expect(web.code, web.stderr).toBe(0);
    expect(h.run(['rotation', 'status']).code).toBe(0);

    const json = h.run(['rotation', 'status', '--json', '--due-within', '400d']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { overdue: number; items: { state: string }[] };
    expect(report.overdue).toBe(1);
    expect(report.items.map((i) => i.state)).toEqual(['overdue', 'due-soon']);
    for (const r of [all, web, json]) expect(r.stdout + r.stderr).not.toMatch(/sk-old|jwt-value/);
  });

  it('refuses a bad duration with a usage hint', () => {
    const h = home();
    const r = h.run(['rotation', 'status', '--due-within', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid --due-within');
    expect(r.stderr).toContain('hint:');
  });
});
