/**
 * files.ts: the one writer of secret files and the .env lock, attacked the way a hostile
 * clone or a racing process would: links at the name or swapped in at the last moment, a
 * file made between the check and the write, a slow writer's lock, a lock taken over; and
 * the one rule of the sweeps: another host's file is never removed, and a process that has
 * a dead writer's pid now is not taken for it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf } from '../../test/helpers/errors.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../test/helpers/fifo.js';
import { setDotenvVariables } from './dotenv/edit.js';
import { writeDotenv } from './dotenv/write.js';
import {
  hostTag,
  hostTagOf,
  isCofferTempFile,
  pidNamespace,
  processStartTime,
  tempFileWriter,
  withFileLock,
  writerState,
  writeSecretFile,
} from './files.js';

const dir = () => mkdtempSync(join(tmpdir(), 'coffer-files-'));

/** A tag that is not this host's: a file a process of another host made on a shared disk. */
const otherHost = hostTag() === 'ffffffff' ? '00000000' : 'ffffffff';

/**
 * A tag of this host's name in another PID namespace than this process's (a sandbox, a
 * container of the same host name), and the tag of the name alone (written before tags named
 * the namespace, or where it cannot be read).
 */
const otherNamespace = hostTagOf(hostname(), 'pid:[1]');
const nameOnly = hostTagOf(hostname(), undefined);

/** The pid of a process that has exited (not reused so soon: pids go round). */
const gonePid = (): number => spawnSync(process.execPath, ['-e', '0']).pid as number;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A live process unrelated to any coffer file: it sleeps until killed (afterEach). */
function sleeper(): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], {
    stdio: 'ignore',
  });
  children.push(child);
  return child.pid as number;
}

const onLinux = process.platform === 'linux';

describe('writeSecretFile', () => {
  it('without overwrite, never replaces a file made between the check and the write', () => {
    const d = dir();
    const file = join(d, 'out.env');
    const err = errorOf(() =>
      writeSecretFile(file, 'MINE=secret\n', {
        beforeCommit: () => writeFileSync(file, 'THEIRS=1\n'),
      }),
    );
    expect(err.code).toBe('ALREADY_EXISTS');
    expect(readFileSync(file, 'utf8')).toBe('THEIRS=1\n');
    expect(readdirSync(d)).toEqual(['out.env']);
  });

  it('without overwrite, refuses a dangling link and creates nothing where it points', () => {
    const d = dir();
    const file = join(d, 'master.key');
    symlinkSync(join(d, 'elsewhere'), file);
    expect(errorOf(() => writeSecretFile(file, 'k\n')).code).toBe('ALREADY_EXISTS');
    expect(existsSync(join(d, 'elsewhere'))).toBe(false);
  });

  it('with overwrite, refuses a link; a link swapped in after the last check is replaced', () => {
    const d = dir();
    const victim = join(d, 'authorized_keys');
    writeFileSync(victim, 'ssh-ed25519 AAAA\n');
    const link = join(d, 'secrets.txt');
    symlinkSync(victim, link);
    const err = errorOf(() => writeSecretFile(link, 'K=v\n', { overwrite: true }));
    expect(err.message).toBe(
      `${link} is a symbolic link; coffer does not write secrets through one`,
    );
    const file = join(d, '.env');
    writeFileSync(file, 'OLD=1\n');
    writeSecretFile(file, 'K=v\n', {
      overwrite: true,
      beforeCommit: () => {
        rmSync(file);
        symlinkSync(victim, file);
      },
    });
    expect(lstatSync(file).isFile()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('K=v\n');
    expect(readFileSync(victim, 'utf8')).toBe('ssh-ed25519 AAAA\n');
  });

  it("names its temp files so that a stray one is recognised as coffer's", () => {
    expect(isCofferTempFile('.env.coffer-123-0badf00d.tmp')).toBe(true);
    expect(isCofferTempFile('.env.28955.df373250.tmp')).toBe(true);
    expect(isCofferTempFile('.env.coffer-123-3f2a9c1b-98765-0badf00d.tmp')).toBe(true);
    expect(isCofferTempFile('.env.local')).toBe(false);
    expect(isCofferTempFile('notes.tmp')).toBe(false);
  });

  it('names the host (a tag, not its name) and the writer in its temp files', () => {
    const d = dir();
    const file = join(d, '.env');
    let seen: string[] = [];
    writeSecretFile(file, 'K=v\n', { beforeCommit: () => (seen = readdirSync(d)) });
    const [temp] = seen.filter((n) => n !== '.env');
    expect(temp).toBeDefined();
    expect(temp).not.toContain(hostname());
    expect(tempFileWriter(temp!, '.env')).toEqual({
      pid: process.pid,
      host: hostTag(),
      start: processStartTime(process.pid),
    });
    expect(hostTag()).toMatch(/^[0-9a-f]{8}$/);
  });

  it("sweeps a gone writer's temp file of this host, never one of another pid namespace", () => {
    const d = dir();
    const file = join(d, '.env');
    const dead = gonePid();
    const live = sleeper(); // a pid out here, its start time not the writer's
    const start = processStartTime(live) ?? '0';
    const swept = [
      `.env.coffer-${dead}-${hostTag()}-0badf00d.tmp`,
      `.env.coffer-${dead}-${nameOnly}-0badf00d.tmp`, // as tagged before namespaces: as then
    ];
    const kept = [
      `.env.coffer-${dead}-${otherNamespace}-0badf00d.tmp`,
      `.env.coffer-${live}-${otherNamespace}-${start}1-0badf00d.tmp`,
      `.env.coffer-${process.pid}-${otherNamespace}-0badf00d.tmp`,
    ];
    if (onLinux) swept.push(`.env.coffer-${live}-${hostTag()}-${start}1-0badf00d.tmp`);
    for (const n of [...swept, ...kept]) writeFileSync(join(d, n), 'K=v\n');
    writeSecretFile(file, 'K=v\n', { overwrite: true });
    expect(readdirSync(d).sort()).toEqual(['.env', ...kept].sort());
  });
});

describe('writerState: whether a leftover file may be removed', () => {
  it("another host's file is never judged gone from here, whatever its pid is here", () => {
    const dead = gonePid();
    expect(writerState({ pid: dead, host: otherHost })).toBe('other-host');
    expect(writerState({ pid: dead, host: 'another-host' })).toBe('other-host');
    // Of this host (by its tag or, in a lock, its name), or of an older coffer (no host).
    expect(writerState({ pid: dead, host: hostTag() })).toBe('gone');
    expect(writerState({ pid: dead, host: hostname() })).toBe('gone');
    expect(writerState({ pid: dead })).toBe('gone');
    expect(writerState({ pid: process.ppid, host: hostTag() })).toBe('running');
  });

  it('a writer of this host name in another pid namespace is judged as one of another host', () => {
    const dead = gonePid();
    expect(writerState({ pid: dead, host: otherNamespace })).toBe('other-host');
    // Its pid out here (often 1) is some other process's, started at another time.
    expect(writerState({ pid: 1, host: otherNamespace, start: '1' })).toBe('other-host');
    // A container that is pid 1 too is not this process.
    const own = { pid: process.pid, host: otherNamespace, start: '1' };
    expect(writerState(own)).toBe('other-host');
    expect(writerState(own, { ownInUse: true })).toBe('other-host');
    // The name's tag alone (earlier versions, or no /proc) is this host's, as it was.
    expect(writerState({ pid: dead, host: nameOnly })).toBe('gone');
    expect(writerState({ pid: process.ppid, host: nameOnly })).toBe('running');
  });

  it.skipIf(!onLinux)("tags the host by its name and this process's pid namespace", () => {
    expect(pidNamespace()).toBe(readlinkSync('/proc/self/ns/pid'));
    expect(pidNamespace()).toMatch(/^pid:\[\d+\]$/);
    expect(hostTag()).toBe(hostTagOf(hostname(), pidNamespace()));
    expect(hostTag()).not.toBe(nameOnly);
  });

  it.skipIf(onLinux)('without /proc, tags the host by its name alone, as before', () => {
    expect(pidNamespace()).toBeUndefined();
    expect(hostTag()).toBe(nameOnly);
  });

  it.skipIf(!onLinux)('a pid now held by a process started at another time is gone', () => {
    const pid = sleeper();
    const start = processStartTime(pid);
    expect(start).toMatch(/^\d+$/);
    expect(writerState({ pid, host: hostTag(), start })).toBe('running');
    expect(writerState({ pid, host: hostTag(), start: `${start}1` })).toBe('gone');
    expect(writerState({ pid, host: hostTag() })).toBe('running'); // no start time: as before
    // This process: gone unless it may be making the file now; an earlier process with its
    // pid (another start time) is gone either way.
    const mine = processStartTime(process.pid);
    expect(writerState({ pid: process.pid, start: mine }, { ownInUse: true })).toBe('running');
    expect(writerState({ pid: process.pid, start: `${mine}1` }, { ownInUse: true })).toBe('gone');
  });

  it.skipIf(!onLinux)(
    'reads the start time after a command name holding spaces and parentheses',
    async () => {
      expect(processStartTime(gonePid())).toBeUndefined();
      const child = spawn(process.execPath, [
        '-e',
        `process.stdin.once('data', () => { process.title = 'a) b (c'; process.stdout.write('ok'); });
         setInterval(() => {}, 1 << 30);`,
      ]);
      children.push(child);
      const pid = child.pid as number;
      const before = processStartTime(pid);
      const renamed = new Promise((resolve) => child.stdout?.once('data', resolve));
      child.stdin?.write('go');
      await renamed;
      expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toContain('(a) b (c)');
      expect(before).toMatch(/^\d+$/);
      expect(processStartTime(pid)).toBe(before);
    },
  );
});

describe('withFileLock', () => {
  it("waits for a live writer's lock however old, and both changes are kept", async () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(file, 'A=1\n');
    const lock = `${file}.lock`;
    // A slow writer of this host: takes the lock, backdates it past a minute, writes its
    // change 1.5 s later, then gives the lock back.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
         const [file, lock, host] = process.argv.slice(1);
         fs.writeFileSync(lock, process.pid + '\\n' + host + '\\nholder\\n', { flag: 'wx' });
         const old = new Date(Date.now() - 5 * 60_000);
         fs.utimesSync(lock, old, old);
         const text = fs.readFileSync(file, 'utf8');
         setTimeout(() => {
           fs.writeFileSync(file + '.h', text + 'HOLDER=1\\n');
           fs.renameSync(file + '.h', file);
           fs.rmSync(lock);
         }, 1500);`,
        file,
        lock,
        hostname(),
      ],
      { stdio: 'ignore' },
    );
    const done = new Promise((resolve) => holder.on('exit', resolve));
    while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 10));
    writeDotenv(file, { LATE_VAR: 'a-brand-new-value' });
    await done;
    expect(readFileSync(file, 'utf8')).toBe('A=1\nHOLDER=1\nLATE_VAR=a-brand-new-value\n');
  });

  it("takes over a dead writer's lock at once, and another host's only once it is old", () => {
    const d = dir();
    const file = join(d, '.env');
    const lock = `${file}.lock`;
    const old = new Date(Date.now() - 5 * 60_000);
    // An older coffer's lock (the pid alone) of a process that is gone.
    writeFileSync(lock, '999999999');
    expect(withFileLock(file, () => 'ran')).toBe('ran');
    writeFileSync(lock, `${process.ppid}\nanother-host\nT\n`);
    utimesSync(lock, old, old);
    expect(withFileLock(file, () => 'ran')).toBe('ran');
    expect(existsSync(lock)).toBe(false);
    // A pid-only lock of a process that runs (a repository's committed `.env.lock` holding
    // 1): judged by its age, so it cannot stop every write for good.
    writeFileSync(lock, '1\n');
    utimesSync(lock, old, old);
    expect(withFileLock(file, () => 'ran')).toBe('ran');
    expect(existsSync(lock)).toBe(false);
  });

  it.skipIf(!onLinux)(
    "takes over at once a lock whose pid a process started since has (a crashed writer's pid reused)",
    () => {
      const d = dir();
      const file = join(d, '.env');
      const lock = `${file}.lock`;
      const pid = sleeper();
      const start = processStartTime(pid);
      writeFileSync(lock, `${pid}\n${hostname()}\nT\n${start}1\n`);
      expect(withFileLock(file, () => 'ran')).toBe('ran');
      expect(existsSync(lock)).toBe(false);
    },
  );

  it('writes its start time and pid namespace into the lock, after the lines earlier versions read', () => {
    const d = dir();
    const file = join(d, '.env');
    const text = withFileLock(file, () => readFileSync(`${file}.lock`, 'utf8'));
    const [pid, host, token, start, namespace, end] = text.split('\n');
    expect([pid, host]).toEqual([String(process.pid), hostname()]);
    expect(token).toMatch(/^[0-9a-f]{16}$/);
    if (onLinux) {
      expect([start, namespace, end]).toEqual([processStartTime(process.pid), pidNamespace(), '']);
    }
  });

  it.skipIf(!onLinux)(
    'never takes over the fresh lock of a writer of this host name in another pid namespace',
    () => {
      const d = dir();
      const file = join(d, '.env');
      const lock = `${file}.lock`;
      // Its pid out here is a live process started at another time, or none at all.
      const live = sleeper();
      const start = processStartTime(live);
      for (const text of [
        `${live}\n${hostname()}\nT\n${start}1\npid:[1]\n`,
        `${gonePid()}\n${hostname()}\nT\n${start}\npid:[1]\n`,
        `${process.pid}\n${hostname()}\nT\n\npid:[1]\n`,
      ]) {
        writeFileSync(lock, text);
        // Waited on, not taken over: no wait at all here, so it is STORE_LOCKED at once.
        const err = errorOf(() => withFileLock(file, () => 'ran', { waitMs: 0 }));
        expect(err.code).toBe('STORE_LOCKED');
        expect(readFileSync(lock, 'utf8')).toBe(text);
        expect(readdirSync(d)).toEqual(['.env.lock']);
      }
      // A minute old, it expires as another host's lock does.
      const old = new Date(Date.now() - 5 * 60_000);
      utimesSync(lock, old, old);
      expect(withFileLock(file, () => 'ran')).toBe('ran');
      // In this namespace, the same lock of a gone writer (pid reused) is taken over at once.
      writeFileSync(lock, `${live}\n${hostname()}\nT\n${start}1\n${pidNamespace()}\n`);
      expect(withFileLock(file, () => 'ran')).toBe('ran');
      expect(existsSync(lock)).toBe(false);
    },
  );

  it('a writer whose lock was taken over writes nothing and leaves the other lock alone', () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(file, 'A=1\n');
    const lock = `${file}.lock`;
    const err = errorOf(() =>
      withFileLock(file, (held) => {
        writeFileSync(lock, `${process.ppid}\nanother-host\nT\n`);
        writeSecretFile(file, setDotenvVariables('A=1\n', { B: 'secret-2' }), {
          overwrite: true,
          beforeCommit: held.assertHeld,
        });
      }),
    );
    expect(err.code).toBe('STORE_LOCKED');
    expect(readFileSync(file, 'utf8')).toBe('A=1\n');
    expect(readFileSync(lock, 'utf8')).toBe(`${process.ppid}\nanother-host\nT\n`);
    expect(readdirSync(d).sort()).toEqual(['.env', '.env.lock']);
  });

  it('refuses at once a lock past 1024 bytes, naming it and the limit; nothing written, nothing removed', () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(file, 'A=1\n');
    const lock = `${file}.lock`;
    writeFileSync(lock, `${process.ppid}\n${hostname()}\nT\n`);
    truncateSync(lock, 3 * 1024 * 1024 * 1024); // sparse: nothing is really written
    const err = errorOf(() => writeDotenv(file, { B: 'secret-2' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(`${lock} is larger than 1024 bytes, the limit for a lock file`);
    expect(err.hint).toContain(`remove it (or move it away)`);
    expect(readFileSync(file, 'utf8')).toBe('A=1\n');
    expect(statSync(lock).size).toBe(3 * 1024 * 1024 * 1024);
    expect(readdirSync(d).sort()).toEqual(['.env', '.env.lock']);
  });

  it('refuses a lock that is a link to a device, unread; a stray pid file that is one is left alone', () => {
    const d = dir();
    const file = join(d, '.env');
    const lock = `${file}.lock`;
    symlinkSync('/dev/zero', lock);
    expect(errorOf(() => withFileLock(file, () => 'ran')).message).toBe(
      `${lock} is not a regular file, so not a lock coffer made`,
    );
    rmSync(lock);
    const stray = `${lock}.999999999.0badf00d`;
    symlinkSync('/dev/zero', stray);
    expect(withFileLock(file, () => 'ran')).toBe('ran');
    expect(lstatSync(stray).isSymbolicLink()).toBe(true);
  });

  it.skipIf(!hasMkfifo)('refuses a lock that is a FIFO, never reading it', async () => {
    const d = dir();
    const file = join(d, '.env');
    const writer = await startFifoWriter(makeFifo(d, '.env.lock'), `${process.ppid}\n`);
    try {
      expect(errorOf(() => withFileLock(file, () => 'ran')).message).toBe(
        `${file}.lock is not a regular file, so not a lock coffer made`,
      );
    } finally {
      writer.stop();
    }
  });
});
