/**
 * `coffer incident` after a real kill: a secret read by two actors (the CLI's `env pull`
 * and an agent through the library) and written into two .env files; `coffer incident` is
 * SIGKILLed at moments spread over its measured duration (shares of it, no absolute timing),
 * then run again. The second run completes without rotating twice, and the report names
 * both actors, both files and every step with its time, and holds neither the leaked value
 * nor the new one (property test: random values).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Vault } from '../../src/core/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { finished, makeHome, type RunResult, spawnCoffer } from './harness.js';

const PATH = 'project/agents/openai_api_key';
const AGENT = 'mcp:claude-code/1.0 agent:reviewer';
const KILLS = 6;
const STEPS = [
  'marked compromised',
  'rotated',
  'listed places',
  'checked prevention',
  'report written',
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Values as providers hand them out: printable, long enough to be found in a text. */
const valueArb = fc.stringMatching(/^[A-Za-z0-9_\-.~+/=]{12,48}$/);

async function killAfter(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  input: string,
  delayMs: number,
): Promise<RunResult> {
  const child = spawnCoffer(args, { env, cwd, input });
  const done = finished(child);
  await Promise.race([done, sleep(delayMs)]);
  child.kill('SIGKILL');
  return done;
}

/** Opens the vault as `actor` for `fn`. */
async function asActor<T>(
  file: string,
  masterKey: Buffer,
  actor: string,
  fn: (vault: Vault) => Promise<T>,
): Promise<T> {
  const storage = openSqliteStorage(file);
  const vault = new Vault(storage, new Uint8Array(masterKey), { actor });
  try {
    return await fn(vault);
  } finally {
    vault.close();
    await storage.close();
  }
}

describe('coffer incident under SIGKILL', () => {
  it('resumes after kills: one rotation, a report naming both actors, both files, every step, no value', async () => {
    await fc.assert(
      fc.asyncProperty(valueArb, valueArb, async (leaked, fresh) => {
        fc.pre(leaked !== fresh && !leaked.includes(fresh) && !fresh.includes(leaked));
        const h = makeHome();
        const masterKey = randomBytes(32);
        const env = { ...h.env, COFFER_MASTER_KEY: masterKey.toString('base64') };
        const file = join(h.env.COFFER_HOME!, 'vault.db');
        const run = (args: string[], input = '') => h.run(args, { env, cwd: h.home, input });
        expect(run(['init']).code).toBe(0);
        const d = ['-d', 'LLM access for the support assistant summaries', '--env', 'prod'];
        expect(run(['set', PATH, ...d], leaked).code).toBe(0);
        // Two files, written by the CLI's user; a second reader: an agent.
        for (const f of ['web.env', 'worker.env']) {
          const pulled = run(['env', 'pull', '-p', 'agents', '--env', 'prod', '--file', f]);
          expect(pulled.code, pulled.stderr).toBe(0);
        }
        await asActor(file, masterKey, AGENT, (v) => v.get(PATH, 'prod'));

        // How long a command against this vault takes, for kills spread over a run.
        const t0 = performance.now();
        for (let i = 0; i < 3; i++) expect(run(['incident', 'list']).code).toBe(0);
        const duration = ((performance.now() - t0) / 3) * 4;
        const args = [
          'incident',
          PATH,
          '--env',
          'prod',
          '--where',
          'pasted in a public issue',
          '--value-stdin',
          '--report',
          'incident.md',
        ];
        let killed = 0;
        for (let i = 0; i < KILLS; i++) {
          const share = 0.05 + (1.1 * ((i * 7) % KILLS)) / (KILLS - 1);
          const r = await killAfter(args, env, h.home, fresh, Math.max(1, duration * share));
          if (r.code !== 0) killed++;
          // Old or new state, never a second rotation.
          const cur = await asActor(file, masterKey, 'test:inspect', (v) => v.get(PATH, 'prod'));
          expect([1, 2]).toContain(cur.version);
          expect(cur.value).toBe(cur.version === 1 ? leaked : fresh);
        }
        const last = run([...args, '--json'], fresh);
        expect(last.code, last.stderr).toBe(0);
        const out = JSON.parse(last.stdout) as {
          incident: { steps: { step: string; at: string }[] };
        };
        for (const step of STEPS) {
          const found = out.incident.steps.filter((s) => s.step === step);
          expect(found, step).toHaveLength(1);
          expect(Number.isNaN(Date.parse(found[0]!.at))).toBe(false);
        }
        expect(run(['get', PATH, '--env', 'prod']).stdout).toBe(`${fresh}\n`);

        const report = readFileSync(join(h.home, 'incident.md'), 'utf8');
        for (const s of out.incident.steps) expect(report).toContain(`| ${s.at} | ${s.step} |`);
        expect(report).toContain(AGENT);
        expect(report).toMatch(/\| cli:[^|]+ \|/);
        expect(report).toContain(join(h.home, 'web.env'));
        expect(report).toContain(join(h.home, 'worker.env'));
        expect(report).not.toContain(leaked);
        expect(report).not.toContain(fresh);
        expect(last.stdout).not.toContain(leaked);
        expect(last.stdout).not.toContain(fresh);
        expect(existsSync(join(h.home, 'incident.md'))).toBe(true);
        expect(run(['verify', '--all']).code).toBe(0);
        expect(run(['audit', 'verify']).code).toBe(0);
        // The spread reaches past a whole run, so some kills may land after it finished.
        expect(killed).toBeGreaterThan(0);
      }),
      { numRuns: 2 },
    );
  }, 600_000);
});
