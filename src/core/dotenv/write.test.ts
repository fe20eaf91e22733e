import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { writeDotenv } from './write.js';

const dir = () => mkdtempSync(join(tmpdir(), 'coffer-dotenv-write-'));

function errorOf(fn: () => unknown): CofferError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CofferError) return err;
    throw err;
  }
  throw new Error('expected a CofferError');
}

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

  it('creates the directories a new file needs, and leaves no lock behind', () => {
    const d = dir();
    const file = join(d, 'config', 'deep', '.env.local');
    expect(writeDotenv(file, { API_KEY: 'v1' }).written).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('API_KEY=v1\n');
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('follows a symbolic link: the target is replaced, the link stays a link', () => {
    const d = dir();
    const real = join(d, 'shared.env');
    writeFileSync(real, 'A=1\n');
    const link = join(d, '.env');
    symlinkSync(real, link);
    const r = writeDotenv(link, { B: '2' });
    expect(r.target).toBe(real);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(real);
    expect(readFileSync(real, 'utf8')).toBe('A=1\nB=2\n');
  });

  it('refuses a link to a device (like /dev/stdout), a FIFO, a directory and a dangling link', () => {
    const d = dir();
    const device = join(d, 'device.env');
    symlinkSync('/dev/null', device);
    expect(errorOf(() => writeDotenv(device, { A: 'x' })).message).toMatch(/a link to a device/);
    const fifo = join(d, 'pipe.env');
    execFileSync('mkfifo', [fifo]);
    expect(errorOf(() => writeDotenv(fifo, { A: 'x' })).message).toMatch(/named pipe/);
    expect(errorOf(() => writeDotenv(d, { A: 'x' })).message).toMatch(/directory/);
    const dangling = join(d, 'dangling.env');
    symlinkSync(join(d, 'nothing-here'), dangling);
    expect(errorOf(() => writeDotenv(dangling, { A: 'x' })).message).toMatch(/link to nothing/);
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
