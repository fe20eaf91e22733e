import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../../test/helpers/errors.js';
import { makeFifo, startFifoWriter } from '../../../test/helpers/fifo.js';
import { hostTag } from '../files.js';
import { readDotenvFile, writeDotenv } from './write.js';

const dir = () => mkdtempSync(join(tmpdir(), 'coffer-dotenv-write-'));

/** A tag that is not this host's: a file a process of another host made on a shared disk. */
const otherHost = hostTag() === 'ffffffff' ? '00000000' : 'ffffffff';

describe('writeDotenv', () => {
  it('adds and updates by name, keeps other lines, writes 0600, and nothing when unchanged', () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(file, '# app settings\nPORT=3000\nAPI_KEY=old\n', { mode: 0o644 });
    const first = writeDotenv(file, { API_KEY: 'new-value-1', DB_URL: 'postgres://x' });
    expect(first.changes).toEqual([
      { name: 'API_KEY', action: 'update' },
      { name: 'DB_URL', action: 'add' },
    ]);
    expect(readFileSync(file, 'utf8')).toBe(
      '# app settings\nPORT=3000\nAPI_KEY=new-value-1\nDB_URL=postgres://x\n',
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = statSync(file).mtimeMs;
    const again = writeDotenv(file, { API_KEY: 'new-value-1', DB_URL: 'postgres://x' });
    expect(again).toMatchObject({ changes: [], written: false });
    expect(again.unchanged).toEqual(['API_KEY', 'DB_URL']);
    expect(statSync(file).mtimeMs).toBe(before);
    expect(JSON.stringify(first) + JSON.stringify(again)).not.toContain('new-value-1');
  });

  it('removes the variables it is told to when the file has them, keeping those it writes', () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(file, '# app\nKEY=new\nKEY_PREVIOUS=old # retired\nPORT=3000\n');
    const check = writeDotenv(
      file,
      { KEY: 'new' },
      { remove: ['KEY_PREVIOUS', 'GONE'], check: true },
    );
    expect(check.changes).toEqual([{ name: 'KEY_PREVIOUS', action: 'remove' }]);
    expect(readFileSync(file, 'utf8')).toContain('KEY_PREVIOUS');
    const r = writeDotenv(file, { KEY: 'new', PORT: '3000' }, { remove: ['KEY_PREVIOUS', 'PORT'] });
    expect(r.changes).toEqual([{ name: 'KEY_PREVIOUS', action: 'remove' }]);
    expect(readFileSync(file, 'utf8')).toBe('# app\nKEY=new\nPORT=3000\n');
    expect(writeDotenv(file, { KEY: 'new' }, { remove: ['KEY_PREVIOUS'] }).written).toBe(false);
  });

  it("takes over a lock that names this very process (a reused pid): it cannot be this one's", () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(`${file}.lock`, String(process.pid));
    expect(writeDotenv(file, { API_KEY: 'v1' }).written).toBe(true);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('a writer killed while taking over a lock leaves nothing that stalls the next one', () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(`${file}.lock`, '2147483646');
    writeFileSync(`${file}.lock.takeover`, '2147483645');
    expect(writeDotenv(file, { API_KEY: 'v1' }).written).toBe(true);
    for (const f of [`${file}.lock`, `${file}.lock.takeover`]) expect(existsSync(f)).toBe(false);
  });

  it("removes the pid files writers killed mid-lock left beside it, not a live writer's", () => {
    const d = dir();
    const file = join(d, '.env');
    const dead = [`${file}.lock.2147483646.0badc0de`, `${file}.lock.takeover.2147483645.00ff00ff`];
    const live = `${file}.lock.${process.ppid}.12345678`;
    const other = `${file}.lock.notes`;
    for (const f of dead) writeFileSync(f, f.includes('takeover') ? '2147483645' : '2147483646');
    writeFileSync(live, String(process.ppid));
    writeFileSync(other, '2147483646');
    expect(writeDotenv(file, { API_KEY: 'v1' }).written).toBe(true);
    for (const f of dead) expect(existsSync(f)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
  });

  it("removes this host's pid files of gone writers, never another host's (a shared disk)", () => {
    const d = dir();
    const file = join(d, '.env');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const mine = [
      `${file}.lock.${gone}-${hostTag()}.0badc0de`,
      `${file}.lock.takeover.${gone}-${hostTag()}-12345.00ff00ff`,
    ];
    // Another host's writer may be running there now, whatever runs here with its pid.
    const theirs = [
      `${file}.lock.${gone}-${otherHost}.0badc0de`,
      `${file}.lock.takeover.${gone}-${otherHost}-12345.00ff00ff`,
    ];
    for (const f of [...mine, ...theirs]) writeFileSync(f, '');
    expect(writeDotenv(file, { API_KEY: 'v1' }).written).toBe(true);
    for (const f of mine) expect(existsSync(f), f).toBe(false);
    for (const f of theirs) expect(existsSync(f), f).toBe(true);
  });

  it('creates the directories a new file needs, and leaves no lock behind', () => {
    const d = dir();
    const file = join(d, 'config', 'deep', '.env.local');
    expect(writeDotenv(file, { API_KEY: 'v1' }).written).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('API_KEY=v1\n');
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('names the file in a clear error when the system cannot reach it, never a value', () => {
    const d = dir();
    writeFileSync(join(d, 'plain'), 'x');
    const through = errorOf(() => writeDotenv(join(d, 'plain', '.env'), { API_KEY: 'sk-Zq1' }));
    expect(through.code).toBe('IO_ERROR');
    expect(through.message).toBe(
      `cannot use ${join(d, 'plain', '.env')}: a part of the path is not a directory (ENOTDIR)`,
    );
    const long = errorOf(() =>
      writeDotenv(join(d, `.env.${'a'.repeat(300)}`), { API_KEY: 'sk-Zq1' }),
    );
    expect(long.code).toBe('IO_ERROR');
    expect(long.message).toMatch(
      /^cannot use .*\.env\.a+\.\.\.: the name is too long \(ENAMETOOLONG\)$/,
    );
    expect(long.message.length).toBeLessThan(300);
    for (const e of [through, long]) expect(`${e.message} ${e.hint ?? ''}`).not.toContain('sk-Zq1');
  });

  it('refuses a .env that is a symbolic link, out of the project or into a tracked file', () => {
    // A cloned repository commits `.env -> ~/.ssh/authorized_keys` or `.env -> README.md`.
    const d = dir();
    const home = join(d, 'home', '.ssh');
    mkdirSync(home, { recursive: true });
    const keys = join(home, 'authorized_keys');
    writeFileSync(keys, 'ssh-ed25519 AAAA me@laptop\n', { mode: 0o644 });
    const project = join(d, 'clone');
    mkdirSync(project);
    const readme = join(project, 'README.md');
    writeFileSync(readme, '# app\n');
    for (const [name, target] of [
      ['.env', keys],
      ['.env.local', 'README.md'],
    ] as const) {
      const link = join(project, name);
      symlinkSync(target, link);
      for (const options of [{}, { check: true }, { rewrite: true }]) {
        const err = errorOf(() => writeDotenv(link, { API_KEY: 'sk-secret-value-1' }, options));
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.message).toBe(
          `${link} is a symbolic link; coffer does not write secrets through one`,
        );
        expect(`${err.message} ${err.hint}`).not.toContain('sk-secret-value-1');
      }
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
    }
    expect(readFileSync(keys, 'utf8')).toBe('ssh-ed25519 AAAA me@laptop\n');
    expect(statSync(keys).mode & 0o777).toBe(0o644);
    expect(readFileSync(readme, 'utf8')).toBe('# app\n');
  });

  it('refuses a directory on the way that leads out of the project through a link', () => {
    const d = dir();
    const outside = join(d, 'home');
    mkdirSync(outside);
    writeFileSync(join(outside, '.env'), 'MINE=1\n');
    const project = join(d, 'clone');
    mkdirSync(project);
    symlinkSync(outside, join(project, 'config'));
    const err = errorOf(() =>
      writeDotenv(join(project, 'config', '.env'), { API_KEY: 'sk-1' }, { within: project }),
    );
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('leads out of the project');
    expect(readFileSync(join(outside, '.env'), 'utf8')).toBe('MINE=1\n');
    // A directory of the project, and a path the caller named outside it, are written.
    mkdirSync(join(project, 'app'));
    writeDotenv(join(project, 'app', '.env'), { API_KEY: 'sk-1' }, { within: project });
    writeDotenv(join(outside, '.env'), { API_KEY: 'sk-1' }, { within: project });
    expect(readFileSync(join(outside, '.env'), 'utf8')).toBe('MINE=1\nAPI_KEY=sk-1\n');
  });

  it('refuses a read-only .env and leaves it as it was', () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(file, 'A=1\n');
    chmodSync(file, 0o444);
    const err = errorOf(() => writeDotenv(file, { B: 'secret-2' }));
    expect(err.message).toBe(`${file} is read-only`);
    expect(readFileSync(file, 'utf8')).toBe('A=1\n');
    expect(statSync(file).mode & 0o777).toBe(0o444);
  });

  it('removes the temp files a killed writer left beside the .env, not a live one', () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(file, 'A=1\n');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const live = process.ppid;
    const strays = [`.env.coffer-${dead}-0badf00d.tmp`, `.env.${dead}.df373250.tmp`];
    const kept = [`.env.coffer-${live}-0badf00d.tmp`, '.env.local', 'x.env.coffer-1-00000000.tmp'];
    for (const n of [...strays, ...kept]) writeFileSync(join(d, n), 'KEY=old-secret\n');
    writeDotenv(file, { B: '2' });
    for (const n of strays) expect(existsSync(join(d, n)), n).toBe(false);
    for (const n of kept) expect(existsSync(join(d, n)), n).toBe(true);
    expect(
      readdirSync(d)
        .filter((n) => n.includes('.tmp'))
        .sort(),
    ).toEqual([kept[0], kept[2]].sort());
  });

  it("removes this host's temp files of gone writers, never another host's (a shared disk)", () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(file, 'A=1\n');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const strays = [
      `.env.coffer-${dead}-${hostTag()}-0badf00d.tmp`,
      `.env.coffer-${dead}-${hostTag()}-4242-0badf00d.tmp`,
    ];
    // Written right now by a live writer of another host, whose pid does not exist here.
    const theirs = [
      `.env.coffer-${dead}-${otherHost}-0badf00d.tmp`,
      `.env.coffer-${dead}-${otherHost}-4242-0badf00d.tmp`,
    ];
    for (const n of [...strays, ...theirs]) writeFileSync(join(d, n), 'KEY=old-secret\n');
    writeDotenv(file, { B: '2' });
    for (const n of strays) expect(existsSync(join(d, n)), n).toBe(false);
    for (const n of theirs) expect(existsSync(join(d, n)), n).toBe(true);
  });

  it('refuses a link to a device (like /dev/stdout), a FIFO, a directory and a dangling link', async () => {
    const d = dir();
    const device = join(d, 'device.env');
    symlinkSync('/dev/null', device);
    expect(errorOf(() => writeDotenv(device, { A: 'x' })).message).toMatch(/symbolic link/);
    // Written to, so that reading it by mistake ends (at the .env limit) instead of waiting.
    const fifo = makeFifo(d, 'pipe.env');
    const writer = await startFifoWriter(fifo, 'A=1\n');
    try {
      expect(errorOf(() => writeDotenv(fifo, { A: 'x' })).message).toMatch(/named pipe/);
    } finally {
      writer.stop();
    }
    expect(errorOf(() => writeDotenv(d, { A: 'x' })).message).toMatch(/directory/);
    const dangling = join(d, 'dangling.env');
    symlinkSync(join(d, 'nothing-here'), dangling);
    expect(errorOf(() => writeDotenv(dangling, { A: 'x' })).message).toMatch(/symbolic link/);
    expect(existsSync(join(d, 'nothing-here'))).toBe(false);
    expect(readFileSync('/dev/null', 'utf8')).toBe('');
  });

  it('"-" is stdout where allowed, and refused elsewhere (never a file named -)', () => {
    const out = writeDotenv('-', { A: 'v 1' }, { allowStdout: true });
    expect(out.stdout).toBe("A='v 1'\n");
    expect(errorOf(() => writeDotenv('-', { A: 'x' })).code).toBe('INVALID_ARGUMENT');
  });

  it('check computes the change and writes nothing', () => {
    const d = dir();
    const file = join(d, '.env');
    const r = writeDotenv(file, { A: 'x' }, { check: true });
    expect(r.changes).toEqual([{ name: 'A', action: 'add' }]);
    expect(() => statSync(file)).toThrow();
  });
});

describe('the existing .env file', () => {
  it('past the 16 MiB cap is refused by name, for reading and before a rewrite, and left as it is', () => {
    const d = dir();
    const file = join(d, '.env');
    writeFileSync(file, 'A=1\n');
    truncateSync(file, 16 * 1024 * 1024 + 1); // sparse: nothing is really written
    for (const fn of [() => readDotenvFile(file), () => writeDotenv(file, { B: 'new-value' })]) {
      const err = errorOf(fn);
      expect(err.message).toContain(file);
      expect(err.message).toContain('16 MiB');
    }
    expect(statSync(file).size).toBe(16 * 1024 * 1024 + 1);
    // No temp file and no lock left beside it.
    expect(readdirSync(d)).toEqual(['.env']);
  });
});
