/**
 * `coffer doctor` through the built binary: exit codes, the summary per category, --json,
 * --sarif, --strict, `--fix` as a dry run off a terminal and applied with --no-dry-run (a
 * second run then passes what was fixed), and no value in any output format for random
 * values planted in every kind of file doctor reads (fast-check).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/core/doctor/run.js';
import { hostTag } from '../../src/core/files.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../helpers/fifo.js';
import { makeHome, type RunResult } from './harness.js';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Doctor Test',
  GIT_AUTHOR_EMAIL: 'doctor@example.org',
  GIT_COMMITTER_NAME: 'Doctor Test',
  GIT_COMMITTER_EMAIL: 'doctor@example.org',
};

function project(h: ReturnType<typeof makeHome>, files: Record<string, string>, mode = 0o644) {
  const root = join(h.home, 'project');
  mkdirSync(root, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main'], {
    cwd: root,
    env: { ...process.env, HOME: h.home },
  });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), text, { mode });
  }
  return root;
}

function json(r: RunResult): {
  checks: {
    id: string;
    status: string;
    severity: string;
    evidence: unknown[];
    fix: { safe: boolean; applied?: boolean }[];
  }[];
} {
  return JSON.parse(r.stdout);
}

const statusOf = (r: RunResult, id: string) => json(r).checks.find((c) => c.id === id)?.status;

describe('coffer doctor (built binary)', { timeout: 120_000 }, () => {
  it('reports per category, exits 1 on errors, --fix is a dry run off a terminal, --no-dry-run applies', () => {
    const h = makeHome();
    const root = project(h, {
      '.env': 'DB_PASSWORD=Zq8vN2kLp4Xr7TgY1wBh\n',
      Dockerfile: 'FROM node:20\nCOPY . /app\n',
    });
    const first = h.run(['doctor'], { cwd: root });
    expect(first.code).toBe(1);
    for (const cat of ['files', 'code', 'deploy', 'environments', 'keys', 'access', 'lifecycle']) {
      expect(first.stdout).toMatch(new RegExp(`^${cat}\\s+`, 'm'));
    }
    expect(first.stdout).toContain('ERROR files/env-not-ignored: .env files are git-ignored');
    expect(first.stdout).toContain('  - .env: .env is not ignored by git');
    expect(first.stderr).toMatch(new RegExp(`coffer: ${CHECKS.length} checks: \\d+ errors?`));

    const dry = h.run(['doctor', '--fix'], { cwd: root });
    expect(dry.stderr).toContain(
      'coffer: would fix (files/env-not-ignored): add to .gitignore: /.env',
    );
    expect(dry.stderr).toContain('dry run: nothing changed');
    expect(existsSync(join(root, '.gitignore'))).toBe(false);
    expect(statSync(join(root, '.env')).mode & 0o777).toBe(0o644);

    const fixed = h.run(['doctor', '--fix', '--no-dry-run', '--json'], { cwd: root });
    // The report is the run after the fixes; `fixes` lists what was applied.
    const report = JSON.parse(fixed.stdout) as { fixes: { check: string; applied: boolean }[] };
    expect(report.fixes.map((f) => [f.check, f.applied])).toEqual([
      ['files/env-not-ignored', true],
      ['files/env-not-dockerignored', true],
      ['files/gitignore-entries', true],
      ['files/modes', true],
      ['lifecycle/pre-commit-hook', true],
    ]);
    expect(fixed.stderr).toMatch(/coffer: 5 fixes applied; \d+ checks now pass/);
    const again = h.run(['doctor', '--json'], { cwd: root });
    for (const id of [
      'files/env-not-ignored',
      'files/gitignore-entries',
      'files/env-not-dockerignored',
      'files/modes',
      'lifecycle/pre-commit-hook',
    ]) {
      expect(statusOf(again, id), id).toBe('pass');
    }
    expect(statSync(join(root, '.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, '.git/hooks/pre-commit'), 'utf8')).toContain('scan --staged');
    // What is left is only what no safe fix repairs.
    expect(again.code).toBe(0);
  });

  it('reports a copy of the master key a killed init left beside the key file; --fix deletes it', () => {
    const h = makeHome();
    const root = project(h, {});
    expect(h.run(['init'], { cwd: root }).code).toBe(0);
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const copy = join(h.env.COFFER_HOME!, `master.key.${gone}-${hostTag()}.0a1b2c3d.new`);
    writeFileSync(copy, readFileSync(join(h.env.COFFER_HOME!, 'master.key')), { mode: 0o600 });
    const first = h.run(['doctor'], { cwd: root });
    expect(first.code).toBe(1);
    expect(first.stdout).toContain(
      `  - ${copy}: ${copy} is a copy of the master key a coffer init or restore left when it was killed`,
    );
    const fixed = h.run(['doctor', '--fix', '--no-dry-run', '--json'], { cwd: root });
    const report = JSON.parse(fixed.stdout) as { fixes: { check: string; applied: boolean }[] };
    expect(report.fixes).toContainEqual({
      check: 'files/stray-key-copy',
      description: `delete ${copy}`,
      applied: true,
    });
    expect(existsSync(copy)).toBe(false);
    expect(statusOf(fixed, 'files/stray-key-copy')).toBe('pass');
    expect(h.run(['list'], { cwd: root }).code).toBe(0); // the key file itself is untouched
  });

  it('--strict fails on warnings, --sarif writes SARIF 2.1.0, a usage error exits 2', () => {
    const h = makeHome();
    const root = project(h, {
      'app.py': 'def go(api_key):\n    print(f"key {api_key}")\n',
      '.gitignore':
        '.env\n.env.local\n.env.*.local\n*.pem\n*.key\ncredentials.json\nsecrets.json\n',
    });
    h.run(['hook', 'install'], { cwd: root });
    const plain = h.run(['doctor'], { cwd: root });
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    expect(plain.stdout).toContain('WARNING code/secrets-in-logs');
    expect(h.run(['doctor', '--strict'], { cwd: root }).code).toBe(1);
    const out = join(h.home, 'doctor.sarif');
    h.run(['doctor', '--sarif', out], { cwd: root });
    const sarif = JSON.parse(readFileSync(out, 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results).toContainEqual(
      expect.objectContaining({
        ruleId: 'code/secrets-in-logs',
        level: 'warning',
        locations: [
          { physicalLocation: { artifactLocation: { uri: 'app.py' }, region: { startLine: 2 } } },
        ],
      }),
    );
    const bad = h.run(['doctor', '--env', 'PROD'], { cwd: root });
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toMatch(/at .*\.js/);
  });

  it('never reads a link to /dev/zero or to a FIFO a clone commits, and says so (--json, SARIF); a huge ignore file fails only its fix', async () => {
    const h = makeHome();
    const root = project(h, { 'src/app.js': "const port = process.env.PORT ?? '3000';\n" });
    symlinkSync('/dev/zero', join(root, 'zero.txt'));
    const fifo = hasMkfifo ? makeFifo(h.home, 'pipe') : undefined;
    if (fifo !== undefined) symlinkSync(fifo, join(root, 'keys.txt'));
    execFileSync('git', ['add', '-A'], { cwd: root, env: { ...process.env, HOME: h.home } });
    // What a reader would find there: a key on every line, endlessly.
    const writer =
      fifo === undefined
        ? undefined
        : await startFifoWriter(fifo, 'STRIPE_KEY=sk_live_Qx81e2eDoctorFifo0123456789\n');
    try {
      const r = h.run(['doctor', '--json'], { cwd: root });
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      // Not read, and said so: the check is incomplete, not passed (and names no value).
      expect(statusOf(r, 'code/secrets-in-files')).toBe('incomplete');
      const unread = (r: RunResult, id: string) =>
        (JSON.parse(r.stdout).checks as { id: string; unread: unknown[] }[]).find(
          (c) => c.id === id,
        )?.unread;
      expect(unread(r, 'code/secrets-in-files')).toEqual([
        ...(fifo === undefined
          ? []
          : [
              {
                file: 'keys.txt',
                reason: 'not a regular file (a FIFO)',
                message: 'could not read keys.txt: not a regular file (a FIFO)',
              },
            ]),
        {
          file: 'zero.txt',
          reason: 'not a regular file (a device)',
          message: 'could not read zero.txt: not a regular file (a device)',
        },
      ]);
      expect(JSON.parse(r.stdout).summary.incomplete).toBeGreaterThan(0);
      expect(r.stdout).not.toContain('sk_live_');
      const human = h.run(['doctor'], { cwd: root });
      expect(human.stdout).toContain('INCOMPLETE code/secrets-in-files: no secret in the files');
      expect(human.stdout).toContain('  - could not read zero.txt: not a regular file (a device)');
      expect(human.stderr).toMatch(/\d+ incomplete \(files not read\)/);
      const sarif = JSON.parse(h.run(['doctor', '--sarif', '-'], { cwd: root }).stdout);
      expect(sarif.runs[0].results).toContainEqual({
        ruleId: 'code/secrets-in-files',
        level: 'warning',
        message: { text: 'could not read zero.txt: not a regular file (a device)' },
        locations: [{ physicalLocation: { artifactLocation: { uri: 'zero.txt' } } }],
      });
      expect(sarif.runs[0].tool.driver.rules.map((x: { id: string }) => x.id)).toContain(
        'code/secrets-in-files',
      );
      // A .gitignore past 16 MiB: its fix fails naming it and the limit; the run goes on.
      const gitignore = join(root, '.gitignore');
      writeFileSync(gitignore, 'node_modules\n');
      truncateSync(gitignore, 16 * 1024 * 1024 + 1); // sparse: nothing is really written
      const fix = h.run(['doctor', '--fix', '--no-dry-run'], { cwd: root });
      expect(fix.stderr).toContain(
        `fix failed (files/gitignore-entries): ${gitignore} is larger than 16 MiB, the limit for an ignore file`,
      );
      expect(fix.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(statSync(gitignore).size).toBe(16 * 1024 * 1024 + 1);
    } finally {
      writer?.stop();
    }
  });

  it('names no value in any output format (random values in every file doctor reads)', () => {
    const value = fc
      .tuple(
        fc.string({
          unit: fc.constantFrom(...'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'),
          minLength: 24,
          maxLength: 40,
        }),
      )
      .map(([v]) => v)
      .filter((v) => /[A-Z]/.test(v) && /[a-z]/.test(v) && /\d/.test(v));
    fc.assert(
      fc.property(value, value, value, (a, b, c) => {
        const h = makeHome();
        const env = { COFFER_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
        expect(h.run(['init'], { env }).code).toBe(0);
        const desc = 'Database password of the billing service';
        h.run(['set', 'project/billing/db_password', '-d', desc, '--env', 'prod'], {
          input: a,
          env,
        });
        h.run(['set', 'project/billing/db_password', '-d', desc, '--env', 'dev'], {
          input: a,
          env,
        });
        h.run(
          [
            'set',
            'project/billing/encryption_key',
            '-d',
            'Encrypts stored card tokens at rest',
            '--tier',
            '3',
          ],
          { input: c.slice(0, 12), env },
        );
        const root = project(h, {
          '.coffer': 'project=billing\n',
          '.env': `DB_PASSWORD=${a}\nAPI_TOKEN=${b}\n`,
          '.env.example': `DB_PASSWORD=${b}\nSTRIPE_API_KEY=sk_live_${c}\n`,
          'docker-compose.yml': `services:\n  api:\n    environment:\n      - DB_PASSWORD=${a}\n      - API_TOKEN=${b}\n`,
          Dockerfile: `FROM node:20\nENV SECRET_KEY=${c}\nCOPY .env /app/\n`,
          '.github/workflows/ci.yml': `on: push\njobs:\n  t:\n    env:\n      API_TOKEN: ${b}\n`,
          '.mcp.json': JSON.stringify({
            mcpServers: {
              coffer: {
                command: 'coffer',
                args: ['mcp'],
                env: { COFFER_TOKEN: b, OPENAI_API_KEY: `sk-${c}` },
              },
            },
          }),
          'src/app.js': `// old: ${b}\nconst pw = "${a}";\nconsole.log(\`token \${apiToken}\`);\n`,
          'notes.md': `prod password ${a}\n`,
        });
        execFileSync('git', ['add', '-A'], { cwd: root });
        execFileSync('git', ['commit', '-qm', 'x'], {
          cwd: root,
          env: { ...process.env, ...GIT_ENV, HOME: h.home },
        });
        const outputs = [
          h.run(['doctor', '--history'], { cwd: root, env }),
          h.run(['doctor', '--history', '--json'], { cwd: root, env }),
          h.run(['doctor', '--sarif', '-'], { cwd: root, env }),
          h.run(['doctor', '--fix'], { cwd: root, env }),
        ];
        expect(json(outputs[1]!).checks.filter((x) => x.status === 'fail').length).toBeGreaterThan(
          15,
        );
        for (const o of outputs) {
          for (const v of [a, b, c, c.slice(0, 12)]) {
            expect(o.stdout).not.toContain(v);
            expect(o.stderr).not.toContain(v);
          }
        }
      }),
      { numRuns: 2 },
    );
  });
});
