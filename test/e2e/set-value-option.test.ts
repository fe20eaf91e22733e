/**
 * `coffer set --value V` with a value on stdin as well: refused (exit 2, nothing stored), so
 * a piped value is never dropped without a word. An empty stdin (an empty pipe, an empty
 * file, /dev/null) or a pipe nothing was written to (left open: a CI runner's, a parent that
 * never writes) lets --value through, and the silent pipe is not waited on. After a
 * --passphrase-stdin line, only what follows the line counts.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo } from '../helpers/fifo.js';
import { BIN, finished, makeHome, type RunResult } from './harness.js';

const DESCRIPTION = 'API key of the billing service for invoices';
const ARGV_VALUE = 'argv-v4lue-Kq83';
const PIPED_VALUE = 'piped-v4lue-Zr51';
const BOTH = /a value was given both with --value and on stdin; nothing was stored/;

/** Runs the built CLI with `fd` as its stdin. */
function runWithStdin(
  h: ReturnType<typeof makeHome>,
  args: string[],
  fd: number | 'ignore',
  env: Record<string, string> = {},
): { done: Promise<RunResult>; kill(): void } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...h.env, ...env },
    stdio: [fd, 'pipe', 'pipe'],
  });
  return {
    done: finished(child),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function initHome(): ReturnType<typeof makeHome> {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  return h;
}

function expectStored(h: ReturnType<typeof makeHome>, path: string, value: string): void {
  const r = h.run(['get', path]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe(`${value}\n`);
}

function expectRefused(r: RunResult, h: ReturnType<typeof makeHome>, path: string): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(BOTH);
  expect(r.stderr).toContain('coffer: hint: ');
  for (const value of [ARGV_VALUE, PIPED_VALUE]) expect(r.stderr).not.toContain(value);
  expect(h.run(['get', path]).code).toBe(3);
}

describe('coffer set --value with stdin', () => {
  it('a value in a file on stdin as well is refused, and nothing is stored', async () => {
    const h = initHome();
    const file = join(h.home, 'value.txt');
    writeFileSync(file, `${PIPED_VALUE}\n`);
    const fd = openSync(file, 'r');
    try {
      const args = ['set', 'project/billing/api_key', '-d', DESCRIPTION, '--value', ARGV_VALUE];
      expectRefused(await runWithStdin(h, args, fd).done, h, 'project/billing/api_key');
    } finally {
      closeSync(fd);
    }
  });

  it.skipIf(!hasMkfifo)('a value piped as well is refused, the pipe still open', async () => {
    const h = initHome();
    const args = ['set', 'project/billing/api_key', '-d', DESCRIPTION, '--value', ARGV_VALUE];
    // A FIFO this test holds open read-write: the value is in it before coffer starts, and
    // no end ever comes.
    const fifo = makeFifo(h.home, 'stdin');
    const fd = openSync(fifo, 'r+');
    writeSync(fd, `${PIPED_VALUE}\n`);
    const run = runWithStdin(h, args, fd);
    try {
      expectRefused(await run.done, h, 'project/billing/api_key');
    } finally {
      run.kill();
      closeSync(fd);
    }
  });

  it('an empty stdin lets --value through', async () => {
    const h = initHome();
    const set = (name: string) => [
      'set',
      `project/billing/${name}`,
      '-d',
      DESCRIPTION,
      '--value',
      ARGV_VALUE,
    ];
    const closed = h.run(set('closed_pipe'), { input: '' });
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stderr).toContain('--value puts the secret in argv');
    const empty = join(h.home, 'empty.txt');
    writeFileSync(empty, '');
    for (const [name, path] of [
      ['empty_file', empty],
      ['dev_null', '/dev/null'],
    ] as const) {
      const fd = openSync(path, 'r');
      try {
        const r = await runWithStdin(h, set(name), fd).done;
        expect(r.code, r.stderr).toBe(0);
      } finally {
        closeSync(fd);
      }
    }
    for (const name of ['closed_pipe', 'empty_file', 'dev_null']) {
      expectStored(h, `project/billing/${name}`, ARGV_VALUE);
    }
  });

  it.skipIf(!hasMkfifo)('a pipe left open with nothing in it is not waited on', async () => {
    const h = initHome();
    const fifo = makeFifo(h.home, 'silent');
    // Read-write: coffer's stdin has a writer for as long as it runs, and never an end.
    const fd = openSync(fifo, 'r+');
    const args = ['set', 'project/billing/api_key', '-d', DESCRIPTION, '--value', ARGV_VALUE];
    const run = runWithStdin(h, args, fd);
    try {
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
    } finally {
      run.kill();
      closeSync(fd);
    }
    expectStored(h, 'project/billing/api_key', ARGV_VALUE);
  });

  it('after a --passphrase-stdin line, only what follows it counts', async () => {
    const h = makeHome();
    const pass = 'a passphrase of the set-value test, long enough';
    const init = h.run(['init', '--passphrase', '--kdf-log-n', '14'], {
      env: { COFFER_PASSPHRASE: pass },
    });
    expect(init.code, init.stderr).toBe(0);
    const set = (name: string) => [
      '--passphrase-stdin',
      'set',
      `project/billing/${name}`,
      '-d',
      DESCRIPTION,
      '--value',
      ARGV_VALUE,
    ];
    const alone = h.run(set('alone'), { input: `${pass}\n` });
    expect(alone.code, alone.stderr).toBe(0);
    const more = h.run(set('more'), { input: `${pass}\n${PIPED_VALUE}\n` });
    expect(more.code, more.stderr).toBe(2);
    expect(more.stderr).toMatch(BOTH);
    expect(more.stderr).not.toContain(PIPED_VALUE);
    const get = (name: string) =>
      h.run(['--passphrase-stdin', 'get', `project/billing/${name}`], { input: `${pass}\n` });
    expect(get('alone').stdout).toBe(`${ARGV_VALUE}\n`);
    expect(get('more').code).toBe(3);
  });
});
