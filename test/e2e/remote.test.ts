/**
 * Remote mode end to end: the built CLI with COFFER_URL + COFFER_TOKEN, against an in-test
 * fake server (always) and the real `coffer serve` (when the build has it). The same
 * scenarios run in a local home too, and outputs and exit codes are compared.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeServer } from './fake-server.js';
import { BIN, finished, makeHome, type RunResult, spawnCoffer } from './harness.js';

const DB_URL = 'postgres://app:s3cr3t-Remote-Pw@db.internal/app';
const DB_URL_2 = 'postgres://app:n3w-Remote-Pw@db.internal/app';
const DESCRIPTION = 'Database URL of the remote app';

interface Target {
  url: string;
  token: string;
  close(): Promise<void>;
}

/** A free loopback port (the listener is closed again before the server starts). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startRealServer(): Promise<Target> {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const created = h.run([
    'token',
    'create',
    '--name',
    'e2e',
    '--allow',
    'project/**',
    '--allow',
    'meta/**',
    '--cap',
    'read,list,write,delete,admin',
    '--json',
  ]);
  expect(created.code, created.stderr).toBe(0);
  const { token } = JSON.parse(created.stdout) as { token: string };
  const port = await freePort();
  const server = spawnCoffer(['serve', '--host', '127.0.0.1', '--port', String(port)], {
    env: h.env,
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i >= 100 || server.exitCode !== null) throw new Error('coffer serve did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    token,
    close: async () => {
      server.kill('SIGTERM');
      await finished(server);
    },
  };
}

async function startFake(): Promise<Target> {
  const token = 'coffer_fake01_q0DPm6bH4vXc1nKz8sY2fLwR9aTeJ5uGhB7iNoVdE3x';
  const fake = await startFakeServer(token);
  return { url: fake.url, token, close: fake.close };
}

/** `coffer serve --help` succeeds only once the build has the command (else: general help). */
const serveHelp = spawnSync(process.execPath, [BIN, 'serve', '--help'], { encoding: 'utf8' });
const hasServe = serveHelp.status === 0 && serveHelp.stdout.includes('Usage: coffer serve');
if (!hasServe) {
  console.log(
    'remote.test.ts: the real-server scenarios are skipped: `coffer serve --help` fails in this build',
  );
}

function scenarios(name: string, start: () => Promise<Target>, skip = false): void {
  describe.skipIf(skip)(`remote mode against ${name}`, () => {
    let target: Target;
    const remoteHome = makeHome();
    const local = makeHome();
    const remote = (args: string[], input = '', env: Record<string, string> = {}) =>
      finished(
        spawnCoffer(args, {
          input,
          env: { ...remoteHome.env, COFFER_URL: target.url, COFFER_TOKEN: target.token, ...env },
        }),
      );
    const both = async (args: string[], input = ''): Promise<[RunResult, RunResult]> => [
      local.run(args, { input }),
      await remote(args, input),
    ];

    beforeAll(async () => {
      target = await start();
      expect(local.run(['init']).code).toBe(0);
    });
    afterAll(async () => {
      await target?.close();
    });

    it('set and get print the same as in local mode', async () => {
      const [ls, rs] = await both(['set', 'project/remote/db_url', '-d', DESCRIPTION], DB_URL);
      expect(rs.code, rs.stderr).toBe(0);
      expect(rs.stderr).toBe(ls.stderr);
      expect(rs.stderr).toBe('coffer: created project/remote/db_url (dev) version 1\n');
      const [lg, rg] = await both(['get', 'project/remote/db_url']);
      expect(rg).toEqual(lg);
      expect(rg.stdout).toBe(`${DB_URL}\n`);
      const [lj, rj] = await both(['get', 'project/remote/db_url', '--json']);
      expect(rj.code).toBe(0);
      expect(JSON.parse(rj.stdout)).toEqual(JSON.parse(lj.stdout));
      // Remote mode reads and writes nothing locally.
      expect(existsSync(join(remoteHome.home, '.coffer'))).toBe(false);
    });

    it('a new version, and check-and-set: a lost race exits 5', async () => {
      const [ls, rs] = await both(
        ['set', 'project/remote/db_url', '--if-version', '1', '--json'],
        DB_URL_2,
      );
      expect(rs.code, rs.stderr).toBe(0);
      expect(JSON.parse(rs.stdout)).toEqual(JSON.parse(ls.stdout));
      const [lc, rc] = await both(['set', 'project/remote/db_url', '--if-version', '1'], 'late');
      expect([lc.code, rc.code]).toEqual([5, 5]);
      expect(rc.stderr).toContain('is at version 2, not 1');
      expect((await remote(['get', 'project/remote/db_url'])).stdout).toBe(`${DB_URL_2}\n`);
      const old = await remote(['get', 'project/remote/db_url', '--version', '1']);
      expect(old.stdout).toBe(`${DB_URL}\n`);
    });

    it('a missing secret exits 3 and a bad token exits 4, naming neither token', async () => {
      const [lm, rm] = await both(['get', 'project/remote/missing']);
      expect([lm.code, rm.code]).toEqual([3, 3]);
      expect(rm.stderr).toContain('project/remote/missing');
      const wrong = 'coffer_wrong1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
      const bad = await remote(['get', 'project/remote/db_url'], '', { COFFER_TOKEN: wrong });
      expect(bad.code).toBe(4);
      expect(bad.stdout).toBe('');
      for (const text of [bad.stderr, rm.stderr]) {
        expect(text).not.toContain(wrong.slice(14));
        expect(text).not.toContain(target.token.slice(-20));
        expect(text).not.toContain(DB_URL_2);
      }
      const json = await remote(['get', 'project/remote/missing', '--json']);
      expect(JSON.parse(json.stderr).error.code).toBe('SECRET_NOT_FOUND');
    });

    it('list shows the same metadata as local mode and never a value', async () => {
      const [ll, rl] = await both(['list', 'project/remote', '--json']);
      expect(rl.code, rl.stderr).toBe(0);
      const strip = (s: string) =>
        (JSON.parse(s) as { items: Record<string, unknown>[] }).items.map(
          ({ createdAt, updatedAt, ...rest }) => rest,
        );
      expect(strip(rl.stdout)).toEqual(strip(ll.stdout));
      const table = await remote(['list', 'project/remote']);
      expect(table.stdout).toMatch(/^PATH\s+ENV\s+VERSION\s+UPDATED\s+DESCRIPTION\n/);
      expect(table.stdout).toContain('project/remote/db_url');
      expect(table.stdout + rl.stdout).not.toContain('Remote-Pw');
    });

    it('run injects the project secrets into the child and passes its exit code', async () => {
      const child = `process.stdout.write(process.env.DB_URL ?? 'unset'); process.exit(7)`;
      const [lr, rr] = await both([
        'run',
        '--no-mask',
        '-p',
        'remote',
        '--',
        process.execPath,
        '-e',
        child,
      ]);
      expect(rr.code).toBe(7);
      expect(rr.stdout).toBe(DB_URL_2);
      expect(rr).toEqual(lr);
    });

    it('env pull writes the variables into a .env file', async () => {
      const file = join(remoteHome.home, 'app.env');
      const r = await remote(['env', 'pull', '-p', 'remote', '-f', file]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(file, 'utf8')).toContain('DB_URL=');
      expect(readFileSync(file, 'utf8')).toContain(DB_URL_2);
    });

    it('history, verify, audit and audit verify work through the server', async () => {
      const [lh, rh] = await both(['history', 'project/remote/db_url', '--json']);
      const pick = (s: string) => {
        const h = JSON.parse(s) as { current: number; deleted: boolean; versions: unknown[] };
        return [h.current, h.deleted, h.versions.length];
      };
      expect(rh.code, rh.stderr).toBe(0);
      expect(pick(rh.stdout)).toEqual(pick(lh.stdout));
      const v = await remote(['verify', 'project/remote/db_url', '--json']);
      expect(v.code, v.stderr).toBe(0);
      expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, checked: 2 });
      const a = await remote(['audit', '-n', '3', '--json']);
      expect(a.code, a.stderr).toBe(0);
      const records = (JSON.parse(a.stdout) as { records: { seq: number }[] }).records;
      expect(records.length).toBe(3);
      expect(records[2]!.seq).toBeGreaterThan(records[0]!.seq);
      expect(a.stdout).not.toContain('Remote-Pw');
      const av = await remote(['audit', 'verify', '--json']);
      expect(av.code, av.stderr).toBe(0);
      expect(JSON.parse(av.stdout).ok).toBe(true);
    });

    it('commands that act on the vault file refuse with exit 2', async () => {
      for (const args of [['init'], ['delete', 'project/remote/db_url'], ['verify', '--all']]) {
        const r = await remote(args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toContain('not available in remote mode');
      }
    });
  });
}

scenarios('an in-test fake server', startFake);
scenarios('coffer serve', startRealServer, !hasServe);

describe('remote mode without a server', () => {
  it('an unreachable server exits 1 with SERVER_UNREACHABLE', async () => {
    const h = makeHome();
    const port = await freePort();
    const r = await finished(
      spawnCoffer(['get', 'project/remote/db_url', '--json'], {
        env: { ...h.env, COFFER_URL: `http://127.0.0.1:${port}`, COFFER_TOKEN: 'coffer_x_y' },
      }),
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('SERVER_UNREACHABLE');
  });

  it('COFFER_URL without COFFER_TOKEN exits 4', async () => {
    const h = makeHome();
    const r = h.run(['list'], { env: { COFFER_URL: 'http://127.0.0.1:9' } });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('COFFER_TOKEN is not');
  });
});
