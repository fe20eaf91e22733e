/**
 * Commands that act on audit records act only on records the vault vouches for. Someone who
 * can write the database but has no master key edits an old record in place (its stored hash
 * kept, which does not stop work) so that it names a file or a variable of their choice:
 *
 * - `rotate --sync` would write the new live value into the file a forged `file_write` record
 *   names (a committed .env.example); it refuses, before rotating, while the log does not
 *   verify, and after the break is acknowledged it rewrites the files genuine records name;
 * - `sync --prune` would delete the variable a forged `sync` record names (the target's own
 *   DATABASE_URL); it refuses likewise, and afterwards removes only what coffer synced.
 *
 * Each refusal is audited. Runs on a SQLite vault file and, when COFFER_TEST_DATABASE_URL is
 * set, on a throw-away PostgreSQL schema.
 */
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Db, type DbSetup, dbBackends } from './db-harness.js';
import { installFakeClis } from './fake-clis.js';
import type { RunOptions, RunResult } from './harness.js';

const PATH = 'project/app/stripe_key';
const OLD = 'sk_live_OLD_value_0001';
const NEW = 'sk_live_NEW_value_0002';

/** Rewrites record `seq` in place, its hash columns kept: no master key needed. */
function forge(db: Db, seq: number, fields: { action: string; path: string; detail: object }) {
  return db.run(
    `UPDATE audit SET action = ?, path = ?, env = 'prod', version = 1, outcome = 'ok',
       actor = 'cli:victim', detail = ? WHERE seq = ?`,
    [fields.action, fields.path, JSON.stringify(fields.detail), seq],
  );
}

async function lastRecord(db: Db): Promise<Record<string, unknown>> {
  const [row] = await db.all(
    'SELECT action, path, env, outcome, detail FROM audit ORDER BY seq DESC LIMIT 1',
  );
  return row!;
}

function expectUnvouched(r: RunResult): void {
  expect(r.code, r.stderr).toBe(4);
  expect(r.stderr).toContain('the audit log does not verify (record 2 was changed');
  expect(r.stderr).toContain('coffer acts on none of its records until it does');
  expect(r.stderr).toContain('coffer audit verify');
}

async function withSetup(
  make: () => DbSetup | Promise<DbSetup>,
  fn: (s: DbSetup) => Promise<void>,
): Promise<void> {
  const s = await make();
  try {
    await fn(s);
  } finally {
    await s.cleanup();
  }
}

for (const [backend, make] of dbBackends('audit-driven actions on PostgreSQL')) {
  describe(`actions driven by audit records, on ${backend}`, () => {
    it('rotate --sync never writes into a file a forged file_write record names', () =>
      withSetup(make, async (s) => {
        const run = (args: string[], o: RunOptions = {}) => s.run(args, { cwd: s.home, ...o });
        expect(run(['init']).code).toBe(0);
        const set = run(['set', PATH, '--env', 'prod', '-d', 'Stripe key the app charges with'], {
          input: OLD,
        });
        expect(set.code, set.stderr).toBe(0);
        // A genuine write: env pull into the app's .env.
        const app = realpathSync(s.home);
        const appEnv = join(app, '.env');
        const pull = run(['env', 'pull', '-p', 'app', '-e', 'prod', '--file', appEnv]);
        expect(pull.code, pull.stderr).toBe(0);
        // A committed template elsewhere, holding the variable's name only.
        mkdirSync(join(app, 'public-site'));
        const example = join(app, 'public-site', '.env.example');
        writeFileSync(example, '# copy to .env\nSTRIPE_KEY=\n');
        await forge(s.db, 2, {
          action: 'file_write',
          path: PATH,
          detail: { file: example, name: 'STRIPE_KEY', via: 'env pull' },
        });

        const rotate = ['rotate', PATH, '--env', 'prod', '--value-stdin', '--grace', '0'];
        const refused = run([...rotate, '--sync'], { input: NEW });
        expectUnvouched(refused);
        // Refused before anything was rotated or written, and on record.
        expect(readFileSync(example, 'utf8')).toBe('# copy to .env\nSTRIPE_KEY=\n');
        expect(readFileSync(appEnv, 'utf8')).toContain(OLD);
        expect(await lastRecord(s.db)).toMatchObject({
          action: 'rotate_sync',
          path: PATH,
          env: 'prod',
          outcome: 'denied',
          detail: expect.stringMatching(/^the audit log does not verify: record 2 was changed/),
        });
        expect(run(['get', PATH, '--env', 'prod']).stdout).toBe(`${OLD}\n`);

        const ack = run(['audit', 'acknowledge', '--reason', 'record 2 forged, checked']);
        expect(ack.code, ack.stderr).toBe(0);
        const r = run([...rotate, '--sync'], { input: NEW });
        expect(r.code, r.stderr).toBe(0);
        // The forged record is left out (it is at the break), the genuine one is acted on.
        expect(readFileSync(example, 'utf8')).toBe('# copy to .env\nSTRIPE_KEY=\n');
        expect(readFileSync(appEnv, 'utf8')).toContain(`STRIPE_KEY=${NEW}`);
        expect(r.stdout).toContain(`rewrote: ${appEnv} (STRIPE_KEY)`);
        expect(r.stdout).not.toContain(example);
        expect(r.stderr).toContain(
          `1 audit record of ${PATH} (prod) was not used (among records 1 to 2): the audit chain breaks at record 2`,
        );
        expect(`${r.stdout}${r.stderr}`).not.toContain(NEW);
      }));

    it('sync --prune never removes a variable a forged sync record names', () =>
      withSetup(make, async (s) => {
        const bin = join(s.home, 'bin');
        const cloud = join(s.home, 'cloud');
        installFakeClis(bin);
        mkdirSync(cloud);
        // The app's own DATABASE_URL (an attached database), never synced by coffer.
        writeFileSync(join(cloud, 'fly.json'), JSON.stringify({ DATABASE_URL: 'postgres://prod' }));
        const fly = () => JSON.parse(readFileSync(join(cloud, 'fly.json'), 'utf8')) as object;
        const argv = () => readFileSync(join(cloud, 'argv.log'), 'utf8');
        const env = { PATH: `${bin}:${process.env.PATH}`, FAKE_CLOUD: cloud, FAKE_APP: 'my-app' };
        const run = (args: string[], input?: string) =>
          s.run(args, { env, cwd: s.home, ...(input === undefined ? {} : { input }) });
        expect(run(['init']).code).toBe(0);
        for (const [name, value] of [
          ['api_key', 'mail-key-value-123'],
          ['old_key', 'old-key-value-456'],
        ] as const) {
          const set = run(
            [
              'set',
              `project/app/${name}`,
              '--env',
              'prod',
              '-d',
              'Key the app calls the mail provider with',
            ],
            value,
          );
          expect(set.code, set.stderr).toBe(0);
        }
        const sync = ['sync', '-p', 'app', '-e', 'prod', '--target', 'fly', '--app', 'my-app'];
        expect(run(sync).code).toBe(0);
        expect(run(['delete', 'project/app/old_key', '--env', 'prod']).code).toBe(0);
        const synced = {
          API_KEY: 'mail-key-value-123',
          OLD_KEY: 'old-key-value-456',
          DATABASE_URL: 'postgres://prod',
        };
        expect(fly()).toEqual(synced);
        await forge(s.db, 2, {
          action: 'sync',
          path: 'project/app/api_key',
          detail: { target: 'fly my-app', name: 'DATABASE_URL' },
        });

        const calls = argv();
        expectUnvouched(run([...sync, '--prune']));
        expectUnvouched(run([...sync, '--prune', '--dry-run']));
        expect(fly()).toEqual(synced);
        expect(argv().slice(calls.length)).not.toMatch(/"(import|unset)"/);
        expect(await lastRecord(s.db)).toMatchObject({
          action: 'sync',
          path: 'project/app',
          env: 'prod',
          outcome: 'denied',
        });
        // Without --prune nothing is removed: the sync goes on, listing nothing as coffer's.
        const plain = run([...sync, '--dry-run']);
        expect(plain.code, plain.stderr).toBe(0);
        expect(plain.stderr).toContain('no variable is listed as synced before');
        expect(plain.stdout).toContain('never synced by coffer (kept) (2): DATABASE_URL, OLD_KEY');

        expect(run(['audit', 'acknowledge', '--reason', 'record 2 forged, checked']).code).toBe(0);
        const pruned = run([...sync, '--prune']);
        expect(pruned.code, pruned.stderr).toBe(0);
        // What coffer synced and the project no longer has goes; the target's own stays.
        expect(fly()).toEqual({ API_KEY: 'mail-key-value-123', DATABASE_URL: 'postgres://prod' });
        expect(pruned.stderr).toContain(
          '1 audit record of syncs to fly my-app was not used (among records 1 to 2)',
        );
        expect(pruned.stderr).toContain('never synced by coffer (kept): DATABASE_URL');
      }));
  });
}
