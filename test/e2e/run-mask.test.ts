/**
 * `coffer run` masks what the program writes to a stdout or stderr that is not a terminal,
 * each stream on its own, and leaves a terminal untouched; `--mask` / `--no-mask` force either.
 * The terminal cases use a real pseudo-terminal (util-linux `script`), skipped with a message
 * where it is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, makeHome } from './harness.js';

const VALUE = 'pa"ss/wo rd+7Qx=9';
const M = '[REDACTED]';
/** `s` quoted for sh. */
const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

function project() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const r = h.run(['set', 'project/shop/db_password', '-d', 'Shop database password for orders'], {
    input: VALUE,
  });
  expect(r.code, r.stderr).toBe(0);
  return h;
}

/** A child that prints the value in every encoding, each split across two writes. */
const ENCODINGS = `
const v = process.env.DB_PASSWORD;
const b = Buffer.from(v);
const forms = [v, JSON.stringify(v).slice(1, -1), encodeURIComponent(v), b.toString('base64'),
  b.toString('base64url'), b.toString('hex'), b.toString('hex').toUpperCase(),
  Buffer.concat([Buffer.from('xy'), b, Buffer.from('z')]).toString('base64')];
let i = 0;
const next = () => {
  if (i === forms.length) return;
  const f = forms[i++];
  const cut = Math.floor(f.length / 2);
  process.stdout.write('<' + f.slice(0, cut));
  setTimeout(() => { process.stdout.write(f.slice(cut) + '>\\n'); process.stderr.write('e:' + f + '\\n'); next(); }, 20);
};
next();
`;

const FORMS = (v: string) => {
  const b = Buffer.from(v);
  return [
    v,
    JSON.stringify(v).slice(1, -1),
    encodeURIComponent(v),
    b.toString('base64'),
    b.toString('base64url'),
    b.toString('hex'),
    b.toString('hex').toUpperCase(),
  ];
};

describe('coffer run masking in a pipe', () => {
  it('masks the value and its encoded forms in stdout and stderr, split across writes', () => {
    const h = project();
    const r = h.run(['run', '-p', 'shop', '--', process.execPath, '-e', ENCODINGS]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(8);
    for (const line of lines.slice(0, 7)) expect(line).toMatch(/^<\[REDACTED\]=*>$/);
    // Inside a longer base64 blob only the characters mixing in the neighbours are left.
    expect(lines[7]).toContain(M);
    for (const out of [r.stdout, r.stderr]) {
      for (const f of FORMS(VALUE)) expect(out).not.toContain(f);
      expect(out).not.toContain(Buffer.from(VALUE).toString('base64').slice(2, 14));
    }
    expect(r.stderr.split('\n').filter((l) => l.startsWith('e:'))).toHaveLength(8);
  });

  it('--no-mask leaves the output untouched', () => {
    const h = project();
    const r = h.run([
      'run',
      '--no-mask',
      '-p',
      'shop',
      '--',
      process.execPath,
      '-e',
      'console.log(process.env.DB_PASSWORD); console.error(process.env.DB_PASSWORD)',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${VALUE}\n`);
    expect(r.stderr).toBe(`${VALUE}\n`);
  });

  it('passes binary output and the exit code through', () => {
    const h = project();
    const script =
      'process.stdout.write(Buffer.from([0, 255, 254, 10, 0xc3])); process.exitCode = 3';
    const r = spawnSync(
      process.execPath,
      [BIN, 'run', '-p', 'shop', '--', process.execPath, '-e', script],
      {
        env: h.env,
      },
    );
    expect(r.status).toBe(3);
    expect([...r.stdout]).toEqual([0, 255, 254, 10, 0xc3]);
  });
});

describe('coffer run: how the masked output reaches coffer', () => {
  const probe =
    "const fs = require('fs'); console.log(fs.fstatSync(1).isSocket(), fs.fstatSync(2).isSocket(), process.stdout.isTTY, process.env.DB_PASSWORD); console.error(process.env.DB_PASSWORD)";

  it('the program writes into a socket, as into a pipe; the private directory is removed', () => {
    const h = project();
    const tmp = mkdtempSync(join(h.home, 'tmp-'));
    const r = h.run(['run', '-p', 'shop', '--', process.execPath, '-e', probe], {
      env: { TMPDIR: tmp },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`true true undefined ${M}\n`);
    expect(r.stderr).toBe(`${M}\n`);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('falls back to pipes when no socket can be made, masking alike', () => {
    const h = project();
    const r = h.run(['run', '-p', 'shop', '--', process.execPath, '-e', probe], {
      env: { TMPDIR: join(h.home, 'no-such-dir') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`true true undefined ${M}\n`);
    expect(r.stderr).toBe(`${M}\n`);
  });

  it('exits only once all of the output is written, to a reader that is slow to start', async () => {
    const h = project();
    // Blocking writes of less than the sockets hold: the program exits as soon as its last
    // byte is in the socket, while coffer still has some of it to read and most to write.
    const script =
      "const fs = require('fs'); const line = 'x'.repeat(1000) + process.env.DB_PASSWORD + '\\n'; fs.writeSync(1, line.repeat(300)); fs.writeSync(1, 'end\\n');";
    const child = spawn(
      process.execPath,
      [BIN, 'run', '-p', 'shop', '--', process.execPath, '-e', script],
      {
        env: h.env,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    child.stdout.pause();
    await new Promise((r) => setTimeout(r, 500)); // the program is done by now, its output not
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.stdout.resume();
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
    const out = Buffer.concat(parts).toString();
    expect(out).toBe(`${`${'x'.repeat(1000)}${M}\n`.repeat(300)}end\n`);
  });

  for (const [how, tmp] of [
    ['socket', undefined],
    ['pipe', 'no-such-dir'],
  ] as const) {
    it(`a reader that goes away stops the program as a closed pipe would (${how})`, async () => {
      const h = project();
      const child = spawn(
        process.execPath,
        [BIN, 'run', '-p', 'shop', '--', 'sh', '-c', 'exec yes "$DB_PASSWORD"'],
        {
          env: tmp === undefined ? h.env : { ...h.env, TMPDIR: join(h.home, tmp) },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      // `coffer run -- yes | head -1`: the reader takes a line and closes its end.
      const first = await new Promise<string>((r) =>
        child.stdout.once('data', (d) => r(String(d))),
      );
      child.stdout.destroy();
      const code = await new Promise((r) => child.on('close', r));
      expect(first.split('\n')[0]).toBe(M);
      expect(err).toBe('');
      expect(code).toBe(141); // yes died of SIGPIPE: 128 + 13, as `yes | head` reports it
    });
  }

  /**
   * A program that writes a line, and a second one once told (on stdin) that the reader of
   * coffer's stdout has gone; then it waits until its own end of the output is closed (its
   * stdout is a socket in both modes, so it can watch for that without writing; at most
   * 20 s, exit 99) and writes a third line. Exit 32 when a write fails with EPIPE (Node
   * ignores SIGPIPE), 0 when the third write went through.
   */
  const NEXT_WRITE = `
const fs = require('fs');
const net = require('net');
const line = (s) => {
  try { fs.writeSync(1, s + ' ' + process.env.DB_PASSWORD + '\\n'); }
  catch (e) { if (e.code === 'EPIPE') process.exit(32); throw e; }
};
line('first');
process.stdin.once('data', () => {
  line('second');
  const bound = setTimeout(() => process.exit(99), 20000);
  const out = new net.Socket({ fd: 1, readable: true, writable: false, allowHalfOpen: true });
  out.on('data', () => {});
  out.once('end', () => { clearTimeout(bound); line('third'); process.exit(0); });
});
`;

  for (const [how, tmp] of [
    ['socket', undefined],
    ['pipe', 'no-such-dir'],
  ] as const) {
    it(`the write that finds the reader gone closes the program's output: its next write fails (${how})`, async () => {
      const h = project();
      const child = spawn(
        process.execPath,
        [BIN, 'run', '-p', 'shop', '--', process.execPath, '-e', NEXT_WRITE],
        {
          env: tmp === undefined ? h.env : { ...h.env, TMPDIR: join(h.home, tmp) },
          stdio: ['pipe', 'pipe', 'pipe'],
          timeout: 60_000,
        },
      );
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const closed = new Promise((r) => child.on('close', r));
      const first = await new Promise<string>((r) =>
        child.stdout.once('data', (d) => r(String(d))),
      );
      // The reader takes the first line and goes away; then the program writes again.
      child.stdout.destroy();
      child.stdin.end('go\n');
      const code = await closed;
      expect(first).toBe(`first ${M}\n`);
      expect(err).toBe('');
      // As `prog | head -1` without coffer: the write after the reader left fails (EPIPE).
      expect(code).toBe(32);
    });
  }

  it('a program whose write finds the reader gone gets SIGPIPE then, not at a later write', async () => {
    const h = project();
    // Prints a line, a second one once told that the reader has gone, then only waits on
    // stdin (held open): without coffer the second echo dies of SIGPIPE.
    const program =
      'echo first "$DB_PASSWORD"; read go; echo second "$DB_PASSWORD"; read rest; exit 0';
    const child = spawn(process.execPath, [BIN, 'run', '-p', 'shop', '--', 'sh', '-c', program], {
      env: h.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const closed = new Promise((r) => child.on('close', r));
    const first = await new Promise<string>((r) => child.stdout.once('data', (d) => r(String(d))));
    child.stdout.destroy();
    child.stdin.write('go\n');
    const code = await closed;
    child.stdin.destroy();
    expect(first).toBe(`first ${M}\n`);
    expect(err).toBe('');
    expect(code).toBe(141);
  });

  it('a program printing lines into `| head -n 1` ends as it would without coffer, quietly', () => {
    const h = project();
    const dir = mkdtempSync(join(h.home, 'head-'));
    // A bounded loop, far longer than every buffer between the program and head; sh keeps
    // SIGPIPE's default action (Node ignores it), so it dies of it: 141, as `yes | head` does.
    const program =
      'i=0; while [ $i -lt 100000 ]; do printf "line %s %s\\n" $i "$DB_PASSWORD"; i=$((i+1)); done';
    const pipeline = (command: string) =>
      spawnSync('sh', ['-c', `{ ${command}; echo $? > status; } | head -n 1`], {
        cwd: dir,
        env: h.env,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const plain = pipeline(`sh -c ${q(program)}`);
    expect(plain.stdout).toBe('line 0 \n');
    expect(readFileSync(join(dir, 'status'), 'utf8')).toBe('141\n');
    const r = pipeline(`${q(process.execPath)} ${q(BIN)} run -p shop -- sh -c ${q(program)}`);
    expect(r.stdout).toBe(`line 0 ${M}\n`);
    expect(r.stderr).toBe('');
    expect(readFileSync(join(dir, 'status'), 'utf8')).toBe('141\n');
  });

  it.skipIf(!existsSync('/dev/full'))(
    'a destination that fails otherwise (a full disk) is said, not taken for a reader gone',
    () => {
      const h = project();
      /** `coffer run -- sh -c PROGRAM` with its stdout on a full disk. */
      const full = (program: string) =>
        spawnSync(
          'sh',
          ['-c', `${q(process.execPath)} ${q(BIN)} run -p shop -- sh -c ${q(program)} >/dev/full`],
          { env: h.env, encoding: 'utf8' },
        );
      const r = full('exec yes "$DB_PASSWORD"');
      expect(r.stderr).toContain("cannot write the program's stdout (ENOSPC)");
      expect(r.stderr).not.toContain(VALUE);
      expect(r.status).toBe(141); // the program is stopped as by a closed pipe
      // A program that wrote once and ended well: the run still failed, as without coffer.
      const once = full('printf "%s\\n" "$DB_PASSWORD"; exit 0');
      expect(once.stderr).toContain("cannot write the program's stdout (ENOSPC)");
      expect(once.status).toBe(1);
    },
  );

  it('coffer redact to a reader that goes away exits quietly, as cat would (141)', async () => {
    const h = project();
    const child = spawn(process.execPath, [BIN, 'redact', '--project', 'shop'], {
      env: h.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdin.on('error', () => {}); // coffer may be gone before it read everything
    child.stdin.end(`${VALUE} and more\n`.repeat(200_000));
    const closed = new Promise((r) => child.on('close', r));
    // The first chunk, or '' when coffer ended without writing any.
    const first = await Promise.race([
      new Promise<string>((r) => child.stdout.once('data', (d) => r(String(d)))),
      closed.then(() => ''),
    ]);
    child.stdout.destroy();
    const code = await closed;
    expect(first.split('\n')[0]).toBe(`${M} and more`);
    expect(err).toBe('');
    expect(code).toBe(141);
  });

  for (const [how, tmp] of [
    ['one socket for both', undefined],
    ['pipes', 'no-such-dir'],
  ] as const) {
    it(`2>&1: stdout and stderr into one pipe are both masked (${how})`, () => {
      const h = project();
      const env = tmp === undefined ? h.env : { ...h.env, TMPDIR: join(h.home, tmp) };
      const lines = Array.from(
        { length: 20 },
        (_, i) => `echo "out${i} $DB_PASSWORD"; echo "err${i} $DB_PASSWORD" >&2;`,
      ).join(' ');
      const r = spawnSync(
        'sh',
        ['-c', `${q(process.execPath)} ${q(BIN)} run -p shop -- sh -c ${q(lines)} 2>&1`],
        { env, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      const got = r.stdout.trim().split('\n');
      expect(got).toHaveLength(40);
      expect(r.stdout).not.toContain(VALUE);
      for (const line of got) expect(line).toMatch(/^(out|err)\d+ \[REDACTED\]$/);
      // Through one socket the program's writes keep their order, as they would without coffer.
      if (tmp === undefined)
        expect(got).toEqual(
          Array.from({ length: 20 }, (_, i) => [`out${i} ${M}`, `err${i} ${M}`]).flat(),
        );
    });
  }

  it('2>&1: the program gets one socket as both stdout and stderr', () => {
    const h = project();
    const probe =
      "const fs = require('fs'); const a = fs.fstatSync(1), b = fs.fstatSync(2); console.log(a.isSocket(), a.ino === b.ino)";
    const r = spawnSync(
      'sh',
      [
        '-c',
        `${q(process.execPath)} ${q(BIN)} run -p shop -- ${q(process.execPath)} -e ${q(probe)} 2>&1`,
      ],
      { env: h.env, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('true true\n');
    // Separate pipes: a socket each.
    const apart = h.run(['run', '-p', 'shop', '--', process.execPath, '-e', probe]);
    expect(apart.stdout).toBe('true false\n');
  });

  it('waits for what a background process started by the program writes', () => {
    const h = project();
    const script = `sh -c 'sleep 0.3; printf "%s late\\n" "$DB_PASSWORD"' &`;
    const r = h.run(['run', '-p', 'shop', '--', 'sh', '-c', script]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${M} late\n`);
  });
});

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasScript)
  console.warn('SKIPPED run masking terminal tests: util-linux `script` is not installed');

/**
 * Runs a shell command line on a pseudo-terminal and returns what the terminal showed;
 * `type.keys` are typed on it once `type.after` has been shown.
 */
function onPty(
  cmd: string,
  env: Record<string, string>,
  type?: { after: string; keys: string },
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let typed = type === undefined;
    const shown = (d: Buffer) => {
      out += d.toString('utf8');
      if (!typed && out.includes(type!.after)) {
        typed = true;
        child.stdin.write(type!.keys);
      }
    };
    child.stdout.on('data', shown);
    child.stderr.on('data', shown);
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, out });
    });
  });
}

describe.skipIf(!hasScript)('coffer run on a terminal', () => {
  const show =
    "console.log('tty=' + process.stdout.isTTY + ' v=' + process.env.DB_PASSWORD); console.error('err=' + process.env.DB_PASSWORD)";
  const line = (extra: string[]) =>
    [process.execPath, BIN, 'run', ...extra, '-p', 'shop', '--', process.execPath, '-e', show]
      .map(q)
      .join(' ');

  it('leaves the program its terminal, output untouched', async () => {
    const h = project();
    const r = await onPty(line([]), h.env);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`tty=true v=${VALUE}`);
    expect(r.out).toContain(`err=${VALUE}`);
  });

  it('decides each stream on its own: stderr to a file is masked, stdout on the terminal not', async () => {
    const h = project();
    const file = join(h.home, 'err.log');
    const r = await onPty(`${line([])} 2>${q(file)}`, h.env);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`tty=true v=${VALUE}`);
    expect(readFileSync(file, 'utf8')).toBe(`err=${M}\n`);
  });

  it('--mask masks on a terminal too (the program then writes to a pipe)', async () => {
    const h = project();
    const r = await onPty(line(['--mask']), h.env);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`tty=undefined v=${M}`);
    expect(r.out).not.toContain(VALUE);
  });

  it('Ctrl-C reaches the program once (the terminal sends it; coffer does not add a second)', async () => {
    const h = project();
    const count =
      "let n = 0; process.on('SIGINT', () => { n++; if (n === 1) setTimeout(() => { console.log('sigints=' + n); process.exit(0); }, 700); }); console.log('ready'); setInterval(() => {}, 1000)";
    const cmd = [process.execPath, BIN, 'run', '-p', 'shop', '--', process.execPath, '-e', count]
      .map(q)
      .join(' ');
    // Ctrl-C, typed on the terminal once the program is ready.
    const r = await onPty(cmd, h.env, { after: 'ready', keys: '\x03' });
    // (The exit code is the shell's that `script` runs: it got the Ctrl-C too.)
    expect(r.out).toContain('sigints=1');
  });

  it('Ctrl-C reaches the program once also when none of its streams is the terminal', async () => {
    const h = project();
    const log = join(h.home, 'run.log');
    // The program says it is ready on the terminal itself; its own output goes to a file.
    const count =
      "const fs = require('fs'); let n = 0; process.on('SIGINT', () => { n++; if (n === 1) setTimeout(() => { console.log('sigints=' + n); process.exit(0); }, 700); }); fs.writeSync(fs.openSync('/dev/tty', 'w'), 'ready\\n'); setInterval(() => {}, 1000)";
    const cmd = `${[process.execPath, BIN, 'run', '-p', 'shop', '--', process.execPath, '-e', count]
      .map(q)
      .join(' ')} </dev/null >${q(log)} 2>&1`;
    await onPty(cmd, h.env, { after: 'ready', keys: '\x03' });
    expect(readFileSync(log, 'utf8')).toContain('sigints=1');
  });
});
