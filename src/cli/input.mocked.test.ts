/**
 * Reading stdin whole (input.ts): each use stops at the largest input of its kind (a passphrase
 * line: 64 KiB), so an endless or huge stdin (`< /dev/zero`, `yes |`) ends in a refusal that
 * names the limit after reading little more than the limit, never megabytes; inputs at the
 * limit still pass. A passphrase line from a pipe or a file is read a byte at a time and
 * leaves every byte after its line break where it was (`coffer run` hands stdin on).
 */
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { hasMkfifo, makeFifo } from '../../test/helpers/fifo.js';
import type { CofferError } from '../core/errors.js';

// The stream tests below stand a stream in for process.stdin, which readStdinLine reads as it
// reads a terminal's (never the worker's own fd 0, which it reads a byte at a time otherwise).
vi.mock('node:tty', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:tty')>()),
  isatty: (fd: number) => fd === 0,
}));

/** No stream in these tests yields more than this (every loop is bounded). */
const MAX_PULLED = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;

/**
 * Stands a stream in for process.stdin: `head` first, then `fill` bytes chunk by chunk up to
 * `total` bytes (or the bound). Returns how much was pulled from it.
 */
function fakeStdin(head: Buffer, fill: number, total = MAX_PULLED): { pulled: () => number } {
  let pulled = 0;
  const stream = new Readable({
    read() {
      if (pulled === 0 && head.length > 0) {
        pulled += head.length;
        this.push(head);
        return;
      }
      const n = Math.min(CHUNK, total - pulled);
      if (n <= 0) {
        this.push(null);
        return;
      }
      pulled += n;
      this.push(Buffer.alloc(n, fill));
    },
  });
  vi.spyOn(process, 'stdin', 'get').mockReturnValue(stream as unknown as typeof process.stdin);
  return { pulled: () => pulled };
}

/** input.ts afresh: it keeps what it read of stdin for the life of the process. */
async function input() {
  vi.resetModules();
  return import('./input.js');
}

async function refusal(p: Promise<unknown>): Promise<CofferError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  // A CofferError of the fresh module graph input() loaded (another class than this file's).
  expect((err as Error).name).toBe('CofferError');
  return err as CofferError;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a value on stdin', () => {
  it('endless stdin is refused at 64 KiB, after reading about that much', async () => {
    const { readStdinRest, STDIN_VALUE } = await input();
    const stdin = fakeStdin(Buffer.alloc(0), 0);
    const err = await refusal(readStdinRest('value', false, STDIN_VALUE));
    expect(err.code).toBe('VALUE_TOO_LARGE');
    expect(err.message).toBe("stdin is larger than 64 KiB, the limit for a secret's value");
    expect(stdin.pulled()).toBeLessThanOrEqual(64 * 1024 + 4 * CHUNK);
  });

  it('a value of exactly 64 KiB passes, with its newline or raw', async () => {
    for (const [tail, raw] of [
      ['\r\n', false],
      ['', true],
    ] as const) {
      const { readStdinRest, STDIN_VALUE } = await input();
      fakeStdin(Buffer.from(`${'v'.repeat(64 * 1024)}${tail}`), 0x61, 0);
      expect(await readStdinRest('value', raw, STDIN_VALUE)).toBe('v'.repeat(64 * 1024));
    }
  });

  it('after a passphrase line, the rest past the limit is refused without quoting it', async () => {
    const { readStdinLine, readStdinRest, STDIN_VALUE } = await input();
    fakeStdin(Buffer.from('the passphrase\n'), 0x61, 16 + 200 * 1024);
    expect(await readStdinLine('passphrase')).toBe('the passphrase');
    const err = await refusal(readStdinRest('value', false, STDIN_VALUE));
    expect(err.code).toBe('VALUE_TOO_LARGE');
    expect(`${err.message} ${err.hint}`).not.toContain('aaaaaa');
  });
});

describe('other inputs on stdin', () => {
  it('an audit checkpoint is refused past 64 KiB, after reading about that much', async () => {
    const { readStdinRest, STDIN_CHECKPOINT } = await input();
    const stdin = fakeStdin(Buffer.alloc(0), 0x79);
    const err = await refusal(readStdinRest('checkpoint', true, STDIN_CHECKPOINT));
    expect(err.message).toBe('stdin is larger than 64 KiB, the limit for an audit checkpoint');
    expect(stdin.pulled()).toBeLessThanOrEqual(64 * 1024 + 4 * CHUNK);
  });

  it('a .env file is refused past 16 MiB, its limit as a file', async () => {
    const { readStdinRest, STDIN_DOTENV } = await input();
    const stdin = fakeStdin(Buffer.alloc(0), 0x0a);
    const err = await refusal(readStdinRest('input', true, STDIN_DOTENV));
    expect(err.message).toBe('stdin is larger than 16 MiB, the limit for a .env file');
    expect(stdin.pulled()).toBeLessThanOrEqual(16 * 1024 * 1024 + 4 * CHUNK);
  });

  it('a read without a limit of its own stops at 16 MiB', async () => {
    const { readStdinRest } = await input();
    const stdin = fakeStdin(Buffer.alloc(0), 0x0a);
    const err = await refusal(readStdinRest('input', true));
    expect(err.code).toBe('VALUE_TOO_LARGE');
    expect(err.message).toContain('16 MiB');
    expect(stdin.pulled()).toBeLessThanOrEqual(16 * 1024 * 1024 + 4 * CHUNK);
  });
});

describe('a passphrase line on stdin (--passphrase-stdin)', () => {
  it('endless stdin without a line break is refused at 64 KiB, after reading about that much', async () => {
    const { readStdinLine } = await input();
    const stdin = fakeStdin(Buffer.alloc(0), 0x79);
    const err = await refusal(readStdinLine('passphrase'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(
      'the line of stdin with the passphrase is longer than 64 KiB, the limit for a passphrase',
    );
    expect(err.hint).toContain('first line');
    expect(`${err.message} ${err.hint}`).not.toContain('yyyyyy');
    expect(stdin.pulled()).toBeLessThanOrEqual(64 * 1024 + 4 * CHUNK);
  });

  it('a longer line is refused even when its line break came in the same read', async () => {
    const { readStdinLine } = await input();
    fakeStdin(Buffer.from(`${'p'.repeat(64 * 1024 + 1)}\nrest`), 0, 0);
    const err = await refusal(readStdinLine('backup passphrase'));
    expect(err.message).toContain('longer than 64 KiB, the limit for a backup passphrase');
  });

  it('a line of exactly 64 KiB passes, and the rest of stdin stays for the command', async () => {
    const { readStdinLine, readStdinRest, STDIN_DOTENV } = await input();
    const rest = `A=1\n${'B=2\n'.repeat(100_000)}`;
    fakeStdin(Buffer.from(`${'p'.repeat(64 * 1024)}\r\n${rest}`), 0, 0);
    expect(await readStdinLine('passphrase')).toBe('p'.repeat(64 * 1024));
    expect(await readStdinRest('input', true, STDIN_DOTENV)).toBe(rest);
  });

  it('stops reading at the line break: a huge stdin after the line is neither read nor refused', async () => {
    const { readStdinLine } = await input();
    // The line, then 64 MiB: reading it all (to 16 MiB, then refusing) was the old way.
    const stdin = fakeStdin(Buffer.from('the passphrase\n'), 0x61);
    expect(await readStdinLine('passphrase')).toBe('the passphrase');
    expect(stdin.pulled()).toBeLessThanOrEqual(4 * CHUNK);
  });

  it('the rest after the line is then read under the command limit, from where the line ended', async () => {
    const { readStdinLine, readStdinRest, STDIN_VALUE } = await input();
    const stdin = fakeStdin(Buffer.from('the passphrase\nabc'), 0x61, 19 + 3 * CHUNK);
    expect(await readStdinLine('passphrase')).toBe('the passphrase');
    const pulledAfterLine = stdin.pulled();
    expect(pulledAfterLine).toBeLessThanOrEqual(4 * CHUNK);
    const err = await refusal(readStdinRest('value', false, STDIN_VALUE));
    expect(err.code).toBe('VALUE_TOO_LARGE');
    expect(stdin.pulled()).toBeLessThanOrEqual(64 * 1024 + 4 * CHUNK);
  });

  it('two lines one after the other, then the rest', async () => {
    const { readStdinLine, readStdinRest } = await input();
    fakeStdin(Buffer.from('first\r\nsecond\nthe rest\n'), 0, 0);
    expect(await readStdinLine('passphrase')).toBe('first');
    expect(await readStdinLine('backup passphrase')).toBe('second');
    expect(await readStdinRest('input', true)).toBe('the rest\n');
  });

  it('a short line first: the value after it is read as before', async () => {
    const { readStdinLine, readStdinRest, STDIN_VALUE } = await input();
    fakeStdin(Buffer.from('the passphrase\nthe value\n'), 0, 0);
    expect(await readStdinLine('passphrase')).toBe('the passphrase');
    expect(await readStdinRest('value', false, STDIN_VALUE)).toBe('the value');
  });
});

describe('whether stdin holds input (set --value)', () => {
  it('after a passphrase line: only what follows the line counts', async () => {
    for (const [stdin, holds] of [
      ['pass\n', false],
      ['pass', false],
      ['pass\nvalue', true],
      ['pass\n\n', true],
    ] as const) {
      const { readStdinLine, stdinHoldsInput } = await input();
      fakeStdin(Buffer.from(stdin), 0, 0);
      expect(await readStdinLine('passphrase')).toBe('pass');
      expect([stdin, stdinHoldsInput()]).toEqual([stdin, holds]);
    }
  });
});

describe('a passphrase line from a pipe or a file (readFdLine, a byte at a time)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-input-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;

  /** A file holding `content`, open for reading from its start. */
  function fileFd(content: string | Buffer): number {
    const file = join(dir, `stdin-${n++}`);
    writeFileSync(file, content);
    return openSync(file, 'r');
  }

  /** What is left to read of `fd` from where it stands, as text; closes it. */
  function rest(fd: number): string {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (let got = readSync(fd, buf, 0, buf.length, null); got > 0; ) {
      chunks.push(Buffer.from(buf.subarray(0, got)));
      got = readSync(fd, buf, 0, buf.length, null);
    }
    closeSync(fd);
    return Buffer.concat(chunks).toString('utf8');
  }

  it('leaves every byte after the line break unread, for the command or its child', async () => {
    const { readFdLine } = await input();
    const fd = fileFd('the passphrase\nrest of input\n');
    expect(await readFdLine(fd, 'passphrase')).toEqual({ text: 'the passphrase', ended: false });
    expect(rest(fd)).toBe('rest of input\n');
  });

  it('takes \\r\\n and a leading byte order mark off the line, and reads two lines in turn', async () => {
    const { readFdLine } = await input();
    const fd = fileFd('\uFEFFfirst\r\nsecond\nthe rest');
    expect((await readFdLine(fd, 'passphrase')).text).toBe('first');
    expect((await readFdLine(fd, 'backup passphrase')).text).toBe('second');
    expect(rest(fd)).toBe('the rest');
  });

  it('a last line without a line break, or an empty input, ends the input', async () => {
    const { readFdLine } = await input();
    const fd = fileFd('pass');
    expect(await readFdLine(fd, 'passphrase')).toEqual({ text: 'pass', ended: true });
    closeSync(fd);
    const empty = fileFd('');
    expect(await readFdLine(empty, 'passphrase')).toEqual({ text: '', ended: true });
    closeSync(empty);
  });

  it('a line of exactly 64 KiB passes, with \\r\\n, and the rest stays', async () => {
    const { readFdLine } = await input();
    const fd = fileFd(`${'p'.repeat(64 * 1024)}\r\nA=1\n`);
    expect((await readFdLine(fd, 'passphrase')).text).toBe('p'.repeat(64 * 1024));
    expect(rest(fd)).toBe('A=1\n');
  });

  it('a longer line is refused without quoting it, after reading no more than the limit', async () => {
    const { readFdLine } = await input();
    const total = 1024 * 1024;
    const fd = fileFd(Buffer.alloc(total, 0x79));
    const err = await refusal(readFdLine(fd, 'passphrase'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(
      'the line of stdin with the passphrase is longer than 64 KiB, the limit for a passphrase',
    );
    expect(`${err.message} ${err.hint}`).not.toContain('yyyyyy');
    expect(rest(fd).length).toBeGreaterThanOrEqual(total - 64 * 1024 - 2);
    const longer = fileFd(`${'p'.repeat(64 * 1024 + 1)}\nrest`);
    expect((await refusal(readFdLine(longer, 'backup passphrase'))).message).toContain(
      'longer than 64 KiB, the limit for a backup passphrase',
    );
    closeSync(longer);
  });

  it.skipIf(!hasMkfifo)(
    'waits on a non-blocking pipe that has nothing yet, then stops at the line break',
    async () => {
      const { readFdLine } = await input();
      const fifo = makeFifo(dir, `fifo-${n++}`);
      // Read-write, so the pipe has a writer (never blocks to open on Linux), non-blocking as
      // Node's stdin stream leaves a pipe: its first read finds nothing (EAGAIN).
      const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
      try {
        const line = readFdLine(fd, 'passphrase');
        writeSync(fd, 'the passphrase\nrest of input\n');
        expect(await line).toEqual({ text: 'the passphrase', ended: false });
        const buf = Buffer.alloc(64);
        expect(buf.subarray(0, readSync(fd, buf, 0, 64, null)).toString()).toBe('rest of input\n');
      } finally {
        closeSync(fd);
      }
    },
  );
});
