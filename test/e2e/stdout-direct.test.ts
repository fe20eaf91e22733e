/**
 * A short command writes its output to fd 1 itself (no process.stdout stream: for a pipe that
 * stream is a socket and loads node:net). Whatever stdout is, the output arrives whole and in
 * order: a non-blocking pipe that fills up (the rest goes through the stream, which waits), a
 * reader that goes away (quiet, as before), a file.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeHome } from './harness.js';

const hasPython =
  spawnSync('python3', ['-c', 'import fcntl, termios'], { stdio: 'ignore' }).status === 0;

const h = makeHome();
const COUNT = 400;

beforeAll(() => {
  expect(h.run(['init']).code).toBe(0);
  const lines: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    lines.push(`# Test secret number ${i} with a description long enough to fill a pipe`);
    lines.push(`SECRET_${i}=value-${i}-${'x'.repeat(40)}`);
  }
  writeFileSync(join(h.home, 'many.env'), `${lines.join('\n')}\n`);
  const r = h.run(['env', 'import', join(h.home, 'many.env'), '--project', 'big']);
  expect(r.code, r.stderr).toBe(0);
});

/** The secrets `list --json` names, from its output. */
function listed(text: string): string[] {
  const doc = JSON.parse(text) as { items: { path: string }[] };
  return doc.items.map((s) => s.path);
}

describe('stdout written directly', () => {
  it('a pipe and a file get the same whole output', () => {
    const piped = h.run(['list', 'project/big', '--json']);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout.length).toBeGreaterThan(65536); // more than a pipe holds at once
    expect(listed(piped.stdout)).toHaveLength(COUNT);
    const file = join(h.home, 'out.json');
    const r = spawnSync(
      'sh',
      ['-c', `"${process.execPath}" "${BIN}" list project/big --json > "${file}"`],
      { env: h.env, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(piped.stdout);
  });

  it('a reader that goes away ends the command quietly', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; "${process.execPath}" "${BIN}" list project/big --json | head -c 10`,
      ],
      { env: h.env, encoding: 'utf8' },
    );
    expect(r.stdout).toBe('{\n  "items');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.runIf(hasPython)(
    'a non-blocking pipe that is full: the rest waits for the reader, nothing is lost',
    () => {
      // The reader waits until the pipe is full (FIONREAD: 64 KiB buffered) before reading, so
      // coffer's write(2) meets EAGAIN; bounded by a 60 s deadline, not by a sleep.
      const script = `
import fcntl, os, subprocess, sys, termios, array, time
r, w = os.pipe()
os.set_blocking(w, False)
p = subprocess.Popen(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)
os.close(w)
deadline = time.monotonic() + 60
buf = array.array('i', [0])
while time.monotonic() < deadline and p.poll() is None:
    fcntl.ioctl(r, termios.FIONREAD, buf)
    if buf[0] >= 65536:
        break
    time.sleep(0.01)
sys.stderr.write('full=%d\\n' % buf[0])
chunks = []
while True:
    d = os.read(r, 65536)
    if not d:
        break
    chunks.append(d)
err = p.stderr.read()
sys.stdout.buffer.write(b''.join(chunks))
sys.stderr.write('code=%d\\n' % p.wait())
sys.stderr.write(err.decode())
`;
      const r = spawnSync(
        'python3',
        ['-c', script, process.execPath, BIN, 'list', 'project/big', '--json'],
        { env: h.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain('code=0');
      expect(r.stderr).toContain('full=65536');
      expect(listed(r.stdout)).toHaveLength(COUNT);
    },
  );
  it.skipIf(hasPython)('a non-blocking pipe: NOT RUN, python3 is needed to make one', () => {});
});
