/**
 * The one .env writer (core/dotenv/write.ts) through the built binary: links, special files,
 * stdout, a file past the .env size limit, a kill in the middle of a write, and a live writer
 * in a pid namespace of its own.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../helpers/fifo.js';
import { finished, makeHome, spawnCoffer } from './harness.js';

function project() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const app = join(h.home, 'app');
  mkdirSync(app);
  const r = h.run(
    ['set', 'project/shop/api_key', '-d', 'API key the shop calls the payment provider with'],
    {
      input: 'api-key-value-123',
    },
  );
  expect(r.code, r.stderr).toBe(0);
  return { h, app };
}

describe('.env files written by coffer', () => {
  it('a cloned .env -> ~/.ssh/authorized_keys or -> README.md is refused by every writer', () => {
    const { h, app } = project();
    const ssh = join(h.home, '.ssh');
    mkdirSync(ssh);
    const keys = join(ssh, 'authorized_keys');
    writeFileSync(keys, 'ssh-ed25519 AAAA me@laptop\n', { mode: 0o644 });
    writeFileSync(join(app, 'README.md'), '# shop\n');
    for (const target of [keys, 'README.md']) {
      rmSync(join(app, '.env'), { force: true });
      symlinkSync(target, join(app, '.env'));
      for (const [args, input] of [
        [['env', 'pull', '--project', 'shop'], undefined],
        [['set', 'project/shop/api_key', '--dotenv', '.env'], 'v2-value-456'],
        [['generate', 'SESSION_SECRET', '--dotenv', '.env'], undefined],
      ] as const) {
        const r = h.run([...args], { cwd: app, ...(input ? { input } : {}) });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).not.toBe(0);
        expect(r.stderr).toContain(
          '.env is a symbolic link; coffer does not write secrets through one',
        );
        expect(r.stderr).not.toContain('api-key-value-123');
        expect(r.stderr).not.toContain('v2-value-456');
      }
      expect(lstatSync(join(app, '.env')).isSymbolicLink()).toBe(true);
    }
    expect(readFileSync(keys, 'utf8')).toBe('ssh-ed25519 AAAA me@laptop\n');
    expect(statSync(keys).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(app, 'README.md'), 'utf8')).toBe('# shop\n');
  });

  it('a read-only .env is refused and left as it was', () => {
    const { h, app } = project();
    writeFileSync(join(app, '.env'), 'KEEP=1\n');
    chmodSync(join(app, '.env'), 0o444);
    const r = h.run(['env', 'pull', '--project', 'shop'], { cwd: app });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('.env is read-only');
    expect(readFileSync(join(app, '.env'), 'utf8')).toBe('KEEP=1\n');
    expect(statSync(join(app, '.env')).mode & 0o777).toBe(0o444);
  });

  it('a link to a device (/dev/stdout-like) is refused and nothing is written', () => {
    const { h, app } = project();
    symlinkSync('/dev/null', join(app, '.env'));
    const r = h.run(['env', 'pull', '--project', 'shop'], { cwd: app });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a symbolic link');
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    const set = h.run(['set', 'project/shop/api_key', '--dotenv', '.env'], {
      cwd: app,
      input: 'v2-value-456',
    });
    expect(set.stderr).toContain('is a symbolic link');
    expect(set.stderr).not.toContain('v2-value-456');
  });

  it('a .env past 16 MiB (or -> /dev/zero) is refused by every writer, left as it was, no temp file', () => {
    const { h, app } = project();
    const env = join(app, '.env');
    writeFileSync(env, 'KEEP=1\n');
    truncateSync(env, 2 * 1024 * 1024 * 1024); // sparse: nothing is really written
    const writers = [
      [['env', 'pull', '--project', 'shop'], undefined],
      [['set', 'project/shop/api_key', '--dotenv', '.env'], 'v2-value-456'],
      [['generate', 'SESSION_SECRET', '--dotenv', '.env'], undefined],
    ] as const;
    for (const [args, input] of writers) {
      const r = h.run([...args], { cwd: app, ...(input ? { input } : {}) });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('.env is larger than 16 MiB, the limit for a .env file');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toContain('v2-value-456');
      expect(readdirSync(app)).toEqual(['.env']);
    }
    expect(statSync(env).size).toBe(2 * 1024 * 1024 * 1024);
    const head = Buffer.alloc(7);
    const fd = openSync(env, 'r');
    readSync(fd, head, 0, 7, 0);
    closeSync(fd);
    expect(head.toString()).toBe('KEEP=1\n');
    rmSync(env);
    symlinkSync('/dev/zero', env);
    for (const [args, input] of writers) {
      const r = h.run([...args], { cwd: app, ...(input ? { input } : {}) });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      // Refused as a link (the writer) or as a device (a command's own read of the file first).
      expect(r.stderr).toMatch(/\.env is (a symbolic link|a device)/);
      expect(readdirSync(app)).toEqual(['.env']);
    }
  });

  it('a .env.lock past 1024 bytes, or a FIFO, is refused at once by every writer: no lock coffer made', async () => {
    const { h, app } = project();
    const env = join(app, '.env');
    writeFileSync(env, 'KEEP=1\n');
    const lock = join(app, '.env.lock');
    writeFileSync(lock, '1\n');
    truncateSync(lock, 3 * 1024 * 1024 * 1024); // sparse: nothing is really written
    const writers = [
      [['env', 'pull', '--project', 'shop'], undefined],
      [['set', 'project/shop/api_key', '--dotenv', '.env'], 'v2-value-456'],
      [['generate', 'SESSION_SECRET', '--dotenv', '.env'], undefined],
    ] as const;
    const refused = (said: string) => {
      for (const [args, input] of writers) {
        const r = h.run([...args], { cwd: app, ...(input ? { input } : {}) });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(said);
        expect(r.stderr).toContain('no lock it made: remove it');
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.stderr).not.toContain('v2-value-456');
        expect(readFileSync(env, 'utf8')).toBe('KEEP=1\n');
        expect(readdirSync(app).sort()).toEqual(['.env', '.env.lock']);
      }
    };
    refused('.env.lock is larger than 1024 bytes, the limit for a lock file');
    expect(statSync(lock).size).toBe(3 * 1024 * 1024 * 1024);
    if (!hasMkfifo) return;
    rmSync(lock);
    const writer = await startFifoWriter(makeFifo(app, '.env.lock'), '1\n');
    try {
      refused('.env.lock is not a regular file, so not a lock coffer made');
    } finally {
      writer.stop();
    }
  });

  it('"-" is stdout for env pull, and never a file named "-"', () => {
    const { h, app } = project();
    const r = h.run(['env', 'pull', '--project', 'shop', '--file', '-'], { cwd: app });
    expect(r.code, r.stderr).toBe(0);
    expect(dotenv.parse(r.stdout)).toEqual({ API_KEY: 'api-key-value-123' });
    const set = h.run(['set', 'project/shop/api_key', '--dotenv', '-'], {
      cwd: app,
      input: 'v3-value-789',
    });
    expect(set.code).toBe(2);
    expect(existsSync(join(app, '-'))).toBe(false);
  });

  it('writers at the same time each keep their variable (the file is locked while changed)', async () => {
    const { h } = project();
    const file = join(h.home, 'race3.env');
    const n = 8;
    const runs = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        finished(
          spawnCoffer(
            [
              'set',
              `project/race/key_${i}`,
              '-d',
              `Signing key number ${i} of the race service`,
              '--dotenv',
              file,
            ],
            { env: h.env, input: `value-${i}` },
          ),
        ),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const parsed = dotenv.parse(readFileSync(file));
    for (let i = 0; i < n; i++) expect(parsed[`KEY_${i}`]).toBe(`value-${i}`);
    expect(existsSync(`${file}.lock`)).toBe(false);
    // A lock left by a process that no longer runs is taken over, not waited on.
    writeFileSync(`${file}.lock`, '2147483646');
    const after = h.run(
      ['set', 'project/race/key_x', '-d', 'Signing key x of the race service', '--dotenv', file],
      {
        input: 'value-x',
      },
    );
    expect(after.code, after.stderr).toBe(0);
    expect(dotenv.parse(readFileSync(file)).KEY_X).toBe('value-x');
  });

  it("writers that all find a dead writer's lock take it over once, and keep every line", async () => {
    const { h } = project();
    const index = resolve(import.meta.dirname, '../../dist/index.js');
    const n = 10;
    // Four rounds of ten racing processes: each round is one more chance for two of them to
    // take the same lock over; every process imports the library, so rounds are what cost.
    for (let round = 0; round < 4; round++) {
      const file = join(h.home, `takeover-${round}.env`);
      writeFileSync(`${file}.lock`, '2147483646'); // a pid that runs nowhere
      const runs = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          finished(
            spawn(
              process.execPath,
              [
                '--input-type=module',
                '-e',
                `const { writeDotenv } = await import(${JSON.stringify(index)});
                 writeDotenv(${JSON.stringify(file)}, { KEY_${i}: 'value-${i}' });`,
              ],
              { stdio: ['ignore', 'pipe', 'pipe'] },
            ),
          ),
        ),
      );
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      const parsed = dotenv.parse(readFileSync(file));
      expect(Object.keys(parsed).length, `round ${round}`).toBe(n);
      expect(existsSync(`${file}.lock`)).toBe(false);
      expect(existsSync(`${file}.lock.takeover`)).toBe(false);
    }
    // No clock in the test: its bound is only there so that a hang ends the run.
  }, 300_000);

  it('a kill during a write leaves the old file or the new one, never a part', async () => {
    const { h } = project();
    const file = join(h.home, 'race.env');
    const a = { ONE: 'a'.repeat(40_000), TWO: 'first', THREE: 'p' };
    const b = { ONE: 'b'.repeat(60_000), TWO: 'second', THREE: 'x y z' };
    const index = resolve(import.meta.dirname, '../../dist/index.js');
    const script = `
      const { writeDotenv } = await import(${JSON.stringify(index)});
      const maps = [${JSON.stringify(a)}, ${JSON.stringify(b)}];
      writeDotenv(${JSON.stringify(file)}, maps[0]);
      process.stdout.write('ready\\n');
      for (let i = 1; ; i++) writeDotenv(${JSON.stringify(file)}, maps[i % 2]);
    `;
    let kills = 0;
    for (let round = 0; round < 15; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((res) => child.stdout.once('data', () => res()));
      await new Promise((res) => setTimeout(res, Math.random() * 30));
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
      kills++;
      const parsed = dotenv.parse(readFileSync(file));
      expect([a, b]).toContainEqual(parsed);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(kills).toBe(15);
  });
});

/** Whether `unshare` can run a process in a pid namespace of its own here (it needs root). */
const unshareWorks =
  process.platform === 'linux' &&
  spawnSync('unshare', ['-p', '-f', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0;

/** One step of the event loop (a wait that depends on no clock). */
const tick = () => new Promise<void>((res) => setImmediate(res));

/** Whether process `pid` is stopped (state T in /proc/PID/stat). */
function stopped(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

describe('a writer in a pid namespace of its own (a sandbox, a container of the same host name)', () => {
  it.skipIf(!unshareWorks)(
    'its live lock and temp file are left alone by a writer from outside, which waits for it',
    async () => {
      const { h, app } = project();
      const file = join(app, '.env');
      const lock = `${file}.lock`;
      const stop = join(app, 'stop');
      const index = resolve(import.meta.dirname, '../../dist/index.js');
      // Writes .env over and over (a value large enough that each write takes a while) until
      // told to stop; as the first process of its namespace, its pid there is 1.
      const script = `
        const { existsSync } = await import('node:fs');
        const { writeDotenv } = await import(${JSON.stringify(index)});
        const big = 'x'.repeat(256 * 1024);
        writeDotenv(${JSON.stringify(file)}, { BIG: big, ROUND: '0' });
        process.stdout.write('ready\\n');
        for (let i = 1; !existsSync(${JSON.stringify(stop)}); i++) {
          writeDotenv(${JSON.stringify(file)}, { BIG: big, ROUND: String(i) });
        }
      `;
      const holder = spawn(
        'unshare',
        ['-p', '-f', '--mount-proc', process.execPath, '--input-type=module', '-e', script],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const holderDone = finished(holder);
      let inner: number | undefined;
      try {
        await Promise.race([
          new Promise<void>((res) => holder.stdout.once('data', () => res())),
          holderDone.then((r) => {
            throw new Error(`the writer in its own namespace ended first: ${r.code} ${r.signal}`);
          }),
        ]);
        // The writer is unshare's child (pid 1 in its namespace, another pid out here).
        const u = holder.pid as number;
        inner = Number(readFileSync(`/proc/${u}/task/${u}/children`, 'utf8').trim().split(' ')[0]);
        expect(readlinkSync(`/proc/${inner}/ns/pid`)).not.toBe(readlinkSync('/proc/self/ns/pid'));
        // Stopped while it holds the lock and its temp file is there (a bounded number of tries).
        let held: string | undefined;
        let temps: string[] = [];
        for (let i = 0; i < 2000 && held === undefined; i++) {
          process.kill(inner, 'SIGSTOP');
          for (let j = 0; j < 100_000 && !stopped(inner); j++) await tick();
          expect(stopped(inner)).toBe(true);
          temps = readdirSync(app).filter((n) => n.startsWith('.env.coffer-'));
          if (existsSync(lock) && temps.length > 0) held = readFileSync(lock, 'utf8');
          else process.kill(inner, 'SIGCONT');
        }
        expect(held, 'the writer was never stopped holding the lock').toBeDefined();
        const [pid, , , , namespace] = (held as string).split('\n');
        expect(pid).toBe('1'); // out here, pid 1 is another process, started at another time
        expect(namespace).toBe(readlinkSync(`/proc/${inner}/ns/pid`));

        // A writer from outside: it finds the lock taken and, as the lock is not a minute old,
        // waits for it as for a live writer, trying again and again (each try leaves a pid
        // file for a moment, seen here); without the namespace, pid 1 started at another
        // time would have made it take the lock over at once and sweep the temp file.
        const tries = new Set<string>();
        let waited!: () => void;
        const waiting = new Promise<void>((res) => {
          waited = res;
        });
        const watcher = watch(app, (_event, name) => {
          if (name !== null && /^\.env\.lock\.\d+-[0-9a-f]{8}(?:-\d+)?\.[0-9a-f]{8}$/.test(name)) {
            tries.add(name);
            if (tries.size >= 3) waited();
          }
        });
        const outsider = finished(
          spawnCoffer(
            [
              'set',
              'project/shop/webhook_secret',
              '-d',
              'Webhook signing secret the shop checks callbacks with',
              '--dotenv',
              '.env',
            ],
            { env: h.env, cwd: app, input: 'whsec-value-123' },
          ),
        );
        let gaveUp: Awaited<typeof outsider> | undefined;
        try {
          gaveUp = await Promise.race([outsider, waiting.then(() => undefined)]);
        } finally {
          watcher.close();
        }
        if (gaveUp !== undefined) {
          // Three tries not seen (the watch missed some): it must have given up, not written.
          expect(gaveUp.code, gaveUp.stderr).toBe(1);
          expect(gaveUp.stderr).toContain('.env is being written by another coffer process');
        }
        expect(readFileSync(lock, 'utf8')).toBe(held);
        for (const t of temps) expect(existsSync(join(app, t)), `${t} was swept`).toBe(true);

        // Resumed, the writer finishes its write and stops; the one from outside then takes
        // the lock and writes, and the file keeps both changes.
        writeFileSync(stop, '');
        process.kill(inner, 'SIGCONT');
        expect((await holderDone).code).toBe(0);
        if (gaveUp === undefined) {
          const r = await outsider;
          expect(r.code, r.stderr).toBe(0);
          const parsed = dotenv.parse(readFileSync(file));
          expect(parsed.WEBHOOK_SECRET).toBe('whsec-value-123');
          expect(parsed.ROUND).toMatch(/^\d+$/);
        }
        expect(
          readdirSync(app)
            .filter((n) => n.startsWith('.env'))
            .sort(),
        ).toEqual(['.env']);
      } finally {
        if (inner !== undefined) {
          try {
            process.kill(inner, 'SIGCONT');
            process.kill(inner, 'SIGKILL');
          } catch {
            // Gone already.
          }
        }
        holder.kill('SIGKILL');
        await holderDone;
      }
    },
  );
  it.skipIf(unshareWorks)(
    'NOT RUN: unshare -p -f --mount-proc does not work here (it needs root; run the suite as root to cover it)',
    () => {},
  );
});
