/**
 * Input bytes through the built binary: values come back byte for byte (a leading U+FEFF
 * included), files that are not UTF-8 are refused with their line instead of being stored
 * with U+FFFD, `env import` refuses two variables that would become one secret before it
 * imports anything, and an endless or huge stdin stops at the limit of what it is read for
 * (a value 64 KiB, a .env file 16 MiB).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BIN, makeHome } from './harness.js';

const DESCRIPTION = 'Webhook signing secret of the app';

function vault() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  return { ...h, list: () => h.run(['list', '--json']).stdout };
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

describe('values read from stdin come back identical', () => {
  it('a value that begins with U+FEFF: set, get, get --json, run', () => {
    const h = vault();
    const set = h.run(['set', 'project/app/bom', '-d', DESCRIPTION], {
      input: Buffer.from('\ufeffabc', 'utf8'),
    });
    expect(set.code, set.stderr).toBe(0);
    expect(hex(h.run(['get', 'project/app/bom']).stdout)).toBe(hex('\ufeffabc\n'));
    expect(hex(JSON.parse(h.run(['get', 'project/app/bom', '--json']).stdout).value)).toBe(
      hex('\ufeffabc'),
    );
    const run = h.run([
      'run',
      '--no-mask',
      '--project',
      'app',
      '--',
      process.execPath,
      '-e',
      'process.stdout.write(process.env.BOM)',
    ]);
    expect(hex(run.stdout)).toBe(hex('\ufeffabc'));
  });

  it('any well-formed value round-trips through set --raw and get --json (property)', () => {
    const h = vault();
    let version = 0;
    fc.assert(
      fc.property(
        fc
          .oneof(
            fc.string({ unit: 'grapheme', maxLength: 16 }),
            fc.string({ unit: 'binary', maxLength: 16 }),
            fc.string({ maxLength: 8 }).map((s) => `\ufeff${s}`),
          )
          .map((v) => v.replaceAll('\u0000', '')),
        (value) => {
          // The empty value among them is stored on purpose (refused without --allow-empty).
          const set = h.run(
            ['set', 'project/app/prop', '-d', DESCRIPTION, '--raw', '--allow-empty', '--json'],
            { input: Buffer.from(value, 'utf8') },
          );
          expect(set.code, set.stderr).toBe(0);
          version = JSON.parse(set.stdout).version;
          const got = JSON.parse(h.run(['get', 'project/app/prop', '--json']).stdout);
          expect(got.version).toBe(version);
          expect(hex(got.value)).toBe(hex(value));
        },
      ),
      { numRuns: 12 },
    );
  });

  it('invalid UTF-8 on stdin is refused without saying where in the value', () => {
    const h = vault();
    const r = h.run(['set', 'project/app/bad', '-d', DESCRIPTION], {
      input: Buffer.from([0x61, 0x0a, 0xff]),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the value on stdin is not valid UTF-8');
    expect(r.stderr).not.toContain('line');
  });
});

describe('endless stdin', () => {
  const shell = (h: ReturnType<typeof vault>, command: string) =>
    spawnSync('sh', ['-c', command], { env: h.env, encoding: 'utf8', timeout: 60_000 });

  it('`yes | coffer set` stops at the value limit (64 KiB) instead of filling memory', () => {
    const h = vault();
    const r = shell(
      h,
      `yes | "${process.execPath}" "${BIN}" set project/app/endless -d "${DESCRIPTION}"`,
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain("stdin is larger than 64 KiB, the limit for a secret's value");
    expect(h.list()).not.toContain('endless');
  });

  it('`coffer set < /dev/zero` (and a huge file) stop at the value limit, nothing stored', () => {
    const h = vault();
    const huge = join(h.home, 'huge.bin');
    writeFileSync(huge, 'v');
    truncateSync(huge, 2 * 1024 * 1024 * 1024); // sparse: nothing is really written
    for (const source of ['/dev/zero', huge]) {
      const fd = openSync(source, 'r');
      try {
        const r = spawnSync(
          process.execPath,
          [BIN, 'set', 'project/app/zeros', '-d', DESCRIPTION],
          { env: h.env, stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 },
        );
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toContain(
          "coffer: error: stdin is larger than 64 KiB, the limit for a secret's value",
        );
        expect(r.stderr).not.toMatch(/\n\s+at /);
      } finally {
        closeSync(fd);
      }
    }
    expect(h.list()).not.toContain('zeros');
  });

  it('`yes | coffer env import -` stops at the .env limit, importing nothing', () => {
    const h = vault();
    const r = shell(
      h,
      `yes A=1 | "${process.execPath}" "${BIN}" env import - --project app -d "{key} setting of the app server"`,
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('stdin is larger than 16 MiB, the limit for a .env file');
    expect(h.list()).not.toContain('project/app');
  });
});

describe('files that are not UTF-8', () => {
  const latin1 = Buffer.concat([
    Buffer.from('# app\nPORT=8080\nGREETING=caf'),
    Buffer.from([0xe9]), // "é" in Latin-1: not UTF-8
    Buffer.from('\nTOKEN=abc\n'),
  ]);

  it('env parse FILE refuses, naming the line; stdin is refused by the same rule', () => {
    const h = vault();
    const file = join(h.home, 'latin1.env');
    writeFileSync(file, latin1);
    const r = h.run(['env', 'parse', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file} is not valid UTF-8 (line 3)`);
    const s = h.run(['env', 'parse', '-'], { input: latin1 });
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('not valid UTF-8 (line 3)');
  });

  it('env import FILE refuses and stores nothing', () => {
    const h = vault();
    const file = join(h.home, 'latin1.env');
    writeFileSync(file, latin1);
    const r = h.run([
      'env',
      'import',
      file,
      '--project',
      'app',
      '-d',
      '{key} setting of the app server',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('(line 3)');
    expect(h.run(['list', 'project/app']).stdout).not.toContain('project/app');
    expect(h.run(['get', 'project/app/port']).code).toBe(3);
  });

  it('a file that begins with a BOM still parses as dotenv reads it', () => {
    const h = vault();
    const file = join(h.home, 'bom.env');
    writeFileSync(file, Buffer.from('\ufeffA=1\nB=2\n', 'utf8'));
    const r = h.run(['env', 'parse', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ A: '1', B: '2' });
  });
});

describe('env import: two variables, one secret', () => {
  for (const [a, b, name] of [
    ['API_KEY', 'api_key', 'api_key'],
    ['FOO.BAR', 'FOO_BAR', 'foo_bar'],
  ] as const) {
    it(`${a} and ${b} are refused before anything is imported`, () => {
      const h = vault();
      const file = join(h.home, '.env');
      writeFileSync(file, `# first\nFIRST=1\n# one\n${a}=one\n\n# two\n${b}=two-Sv9\n`);
      const r = h.run([
        'env',
        'import',
        file,
        '--project',
        'app',
        '-d',
        '{key} setting of the app server',
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${a} (line 4) and ${b} (line 7) both become ${name}`);
      expect(r.stderr).not.toContain('Sv9');
      // Nothing was imported, not even the variable before the collision.
      expect(h.run(['get', 'project/app/first']).code).toBe(3);
      expect(h.run(['get', `project/app/${name}`]).code).toBe(3);
    });
  }
});

describe('files read from outside have a size cap', () => {
  it('a device or a file past the cap is refused naming it and the limit', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const zero = h.run(['env', 'parse', '/dev/zero']);
    expect(zero.code, zero.stderr).toBe(2);
    expect(zero.stderr).toContain('/dev/zero is larger than 16 MiB, the limit for a .env file');
    const big = join(h.home, 'big.env');
    writeFileSync(big, `A=${'x'.repeat(16 * 1024 * 1024)}\n`);
    const over = h.run(['env', 'parse', big]);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('is larger than 16 MiB');
    expect(over.stderr).not.toContain('UTF-8');
    const checkpoint = h.run(['audit', 'verify', '--checkpoint', '/dev/zero']);
    expect(checkpoint.code, checkpoint.stderr).toBe(2);
    expect(checkpoint.stderr).toContain('the limit for an audit checkpoint');
  });
});
