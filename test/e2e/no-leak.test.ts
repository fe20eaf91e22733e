/**
 * No leak: for random secret values, every command except a successful `get` is run on
 * success and error paths (wrong master key, bad path, generic description, CAS conflict,
 * oversize value, corrupt data), and the value never appears in stdout, stderr, the audit
 * records, or the vault file's bytes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeHome, type RunResult } from './harness.js';

const DESC = 'Payment provider key for the billing service';

/** Values with enough distinct characters that they cannot occur in output by chance. */
const secretValue = fc
  .string({ unit: 'grapheme', minLength: 12, maxLength: 60 })
  .filter((v) => new Set(v).size >= 8 && v.trim() === v && !v.includes('\n'));

// About 35 coffer processes per run: several minutes on a loaded 2-core machine.
describe('secret values never leak', { timeout: 600_000 }, () => {
  it('through any command output, the audit log or the vault file', () => {
    fc.assert(
      fc.property(secretValue, (value) => {
        const h = makeHome();
        const outputs: RunResult[] = [];
        const run = (args: string[], input = '', env: Record<string, string> = {}) => {
          const r = h.run(args, { input, env });
          outputs.push(r);
          return r;
        };
        const P = 'project/leak/api_key';
        run(['init']);
        expect(run(['set', P, '-d', DESC], value).code).toBe(0);
        run(['set', P, '-d', DESC, '--json'], value);
        run(['set', P, '--if-version', '1'], value); // conflict
        run(['set', 'project/LEAK/Key', '-d', DESC], value); // bad path
        run(['set', 'project/leak/other', '-d', 'API key'], value); // generic description
        run(['set', 'project/leak/other'], value); // missing description
        run(['set', P, '-d', DESC], value.repeat(Math.ceil(65537 / value.length))); // too large
        const wrong = { COFFER_MASTER_KEY: Buffer.alloc(32, 1).toString('base64') };
        run(['set', P], value, wrong); // wrong master key
        run(['get', P], '', wrong);
        for (const args of [
          ['list'],
          ['list', '--json'],
          ['list', 'project/leak', '--all-envs'],
          ['history', P],
          ['history', P, '--json'],
          ['describe', P],
          ['describe', P, '--json'],
          ['verify', P],
          ['verify', '--all', '--json'],
          ['key', 'status'],
          ['key', 'rotate', '--json'],
          ['delete', P],
          ['get', P],
          ['restore', P, '--json'],
          ['audit'],
          ['audit', '--json'],
          ['audit', 'verify'],
        ]) {
          run(args);
        }
        // The .env and run commands: output and the example file never show the value.
        const envFile = join(h.home, 'app.env');
        run(['env', 'pull', '--project', 'leak', '--file', envFile]);
        run(['env', 'pull', '--project', 'leak', '--file', envFile, '--check', '--json']);
        run(['run', '--project', 'leak', '--', process.execPath, '-e', '0']);
        run([
          'run',
          '--project',
          'leak',
          '--mask',
          '--',
          process.execPath,
          '-e',
          'console.log(process.env.API_KEY)',
        ]);
        run(['env', 'import', envFile, '--project', 'leak2', '-d', '{key} for the leak test app']);
        run(['env', 'import', envFile, '--project', 'leak2', '--json']);
        run(['set', 'project/leak/api_key', '--dotenv', envFile], value, wrong);
        // A value no .env form carries safely (a quote and a $) is refused by env pull.
        if (existsSync(envFile)) {
          run(['env', 'example', '--file', envFile, '--out', join(h.home, 'app.env.example')]);
          expect(readFileSync(join(h.home, 'app.env.example'), 'utf8')).not.toContain(value);
        }

        // Corrupt the stored value, then read and verify: the error paths must not leak.
        const file = join(h.env.COFFER_HOME!, 'vault.db');
        const db = new Database(file);
        const row = db
          .prepare(
            'SELECT id, ciphertext FROM secret_versions WHERE path = ? ORDER BY version DESC LIMIT 1',
          )
          .get(P) as {
          id: number;
          ciphertext: Buffer;
        };
        const bad = Buffer.from(row.ciphertext);
        bad[bad.length - 1] = bad[bad.length - 1]! ^ 0x80;
        db.prepare('UPDATE secret_versions SET ciphertext = ? WHERE id = ?').run(bad, row.id);
        const audit = db.prepare('SELECT * FROM audit').all();
        db.close();
        const corrupted = run(['get', P]);
        expect(corrupted.code).toBe(4);
        expect(run(['verify', '--all']).code).toBe(4);

        for (const r of outputs) {
          expect(r.stdout).not.toContain(value);
          expect(r.stderr).not.toContain(value);
        }
        expect(JSON.stringify(audit)).not.toContain(value);
        const needle = Buffer.from(value, 'utf8');
        const dir = join(h.env.COFFER_HOME!);
        for (const f of readdirSync(dir)) {
          expect(readFileSync(join(dir, f)).includes(needle), f).toBe(false);
        }
      }),
      { numRuns: 3, endOnFailure: true },
    );
  });
});
