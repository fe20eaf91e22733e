/**
 * Terminal behaviour through a real pseudo-terminal (util-linux `script`): the hidden value
 * prompt of `coffer set` does not echo the value nor accept an empty one, refuses a paste of
 * several lines whole and leaves none of it for the next program, refuses before it asks what
 * the vault (or in remote mode the server) would refuse whatever the value, and `coffer key
 * rotate` draws a progress bar. Skipped, with a message, where `script` is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startFakeServer } from './fake-server.js';
import { BIN, makeHome, STRIPE_DESCRIPTION } from './harness.js';
import { type ServeProcess, startServe } from './serve-harness.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasScript) console.warn('SKIPPED terminal tests: util-linux `script` is not installed');

/** Runs a command on a pty; when `prompt` appears in the output, types `answer` and Enter. */
function onPty(
  cmd: string,
  env: Record<string, string>,
  prompt?: string,
  answer?: string,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let answered = false;
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (prompt && !answered && out.includes(prompt)) {
        answered = true;
        // Give the process a moment to switch the terminal to raw mode after printing.
        setTimeout(() => child.stdin.write(`${answer}\r`), 150);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin.destroy();
      resolve({ code, out });
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', () => clearTimeout(timer));
  });
}

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

const PASTE_START = '\u001b[200~';
const PASTE_MODE_ON = '\u001b[?2004h';
const PASTE_MODE_OFF = '\u001b[?2004l';

/**
 * Plays a terminal that a user pastes into: runs `cmd` on a pty and, once `prompt` is shown,
 * writes `chunks` one after another, each a while after the one before (a large paste comes in
 * pieces). Like a real terminal, it wraps the paste in bracketed-paste markers only if the
 * program turned the mode on and `bracketed` is set. When every chunk is written and `after`
 * has appeared in the output (the program reading the terminal next is waiting), it types
 * `next` and Enter. The order of events, not their timing, decides what each program reads.
 */
function pasteOnPty(
  cmd: string,
  env: Record<string, string>,
  o: { prompt: string; chunks: string[]; bracketed: boolean; after: string; next: string },
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let state: 'wait-prompt' | 'wait-mode' | 'pasting' | 'pasted' | 'typed' = 'wait-prompt';
    const gap = (f: () => void) => setTimeout(f, 150);
    const paste = () => {
      if (state !== 'wait-mode') return;
      state = 'pasting';
      const wrap = o.bracketed && out.includes(PASTE_MODE_ON);
      const pieces = [...o.chunks];
      if (wrap) {
        pieces[0] = `\u001b[200~${pieces[0]}`;
        pieces[pieces.length - 1] = `${pieces[pieces.length - 1]}\u001b[201~`;
      }
      const writeNext = () => {
        const piece = pieces.shift();
        if (piece === undefined) {
          state = 'pasted';
          check();
          return;
        }
        child.stdin.write(piece, () => gap(writeNext));
      };
      writeNext();
    };
    const check = () => {
      if (state === 'wait-prompt' && out.includes(o.prompt)) {
        state = 'wait-mode';
        // The mode is turned on right after the prompt, in raw mode; a program that never turns
        // it on (or a terminal without it) gets the paste a moment later, unwrapped.
        if (o.bracketed && out.includes(PASTE_MODE_ON)) paste();
        else setTimeout(paste, o.bracketed ? 2000 : 150);
      } else if (state === 'wait-mode' && o.bracketed && out.includes(PASTE_MODE_ON)) paste();
      else if (state === 'pasted' && out.includes(o.after)) {
        state = 'typed';
        child.stdin.write(`${o.next}\r`);
      }
    };
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      check();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, out });
    });
  });
}

/** A PEM-shaped private key of random lines, each of which can be looked for in output. */
function fakePemKey(lines: number): { text: string; body: string[] } {
  const body = Array.from({ length: lines }, () => randomBytes(48).toString('base64'));
  return {
    text: ['-----BEGIN PRIVATE KEY-----', ...body, '-----END PRIVATE KEY-----', ''].join('\r'),
    body,
  };
}

/** Cuts `text` into `n` pieces of about the same length. */
function piecesOf(text: string, n: number): string[] {
  const size = Math.ceil(text.length / n);
  return Array.from({ length: n }, (_, i) => text.slice(i * size, (i + 1) * size)).filter(
    (p) => p !== '',
  );
}

describe.skipIf(!hasScript)('on a terminal', () => {
  it('get shows a value holding control characters escaped on a terminal, exactly into a pipe', async () => {
    // Whoever may write a secret could store what a terminal acts on: OSC 52 writes the
    // clipboard, ESC [2K and \r erase the line. Tabs and line breaks (a PEM key) stay.
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const value = 'line one\tx\nok\u001b]52;c;ZWNobyBwd25lZA==\u0007\r\u001b[2K';
    const set = h.run(['set', 'project/consilio/odd_value', '-d', STRIPE_DESCRIPTION], {
      input: value,
    });
    expect(set.code, set.stderr).toBe(0);
    const shown = await onPty(
      `${q(process.execPath)} ${q(BIN)} get project/consilio/odd_value`,
      h.env,
    );
    expect(shown.code).toBe(0);
    expect(shown.out).not.toContain('\u001b]52');
    expect(shown.out).toContain('ok\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x0d\\x1b[2K');
    expect(shown.out).toContain('line one\tx');
    expect(shown.out).toContain('shown as \\xNN');
    // Into a pipe: the exact value, and no warning.
    const piped = h.run(['get', 'project/consilio/odd_value']);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe(`${value}\n`);
    expect(piped.stderr).toBe('');
  });

  it('set asks for the value without echoing it', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const value = 'typed-secret-7Q2xZ9';
    const cmd = `${q(process.execPath)} ${q(BIN)} set project/consilio/stripe_api_key -d ${q(STRIPE_DESCRIPTION)}`;
    const r = await onPty(cmd, h.env, 'Value for project/consilio/stripe_api_key', value);
    expect(r.out).toContain('Value for project/consilio/stripe_api_key (dev):');
    expect(r.out).not.toContain(value);
    expect(r.code).toBe(0);
    expect(h.run(['get', 'project/consilio/stripe_api_key']).stdout).toBe(`${value}\n`);
  });

  it('set refuses Enter alone at the prompt (exit 2) and stores nothing', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const cmd = `${q(process.execPath)} ${q(BIN)} set project/consilio/stripe_api_key -d ${q(STRIPE_DESCRIPTION)}`;
    const r = await onPty(cmd, h.env, 'Value for project/consilio/stripe_api_key', '');
    expect(r.out).toContain('nothing was typed at the prompt');
    expect(r.code).toBe(2);
    expect(h.run(['get', 'project/consilio/stripe_api_key']).code).toBe(3);
  });

  it('set of a new secret without a description says so before asking for the value; an existing one is asked for', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const value = 'typed-secret-8R3yA0';
    const set = (path: string, more = '') => `${q(process.execPath)} ${q(BIN)} set ${path}${more}`;
    const r = await onPty(set('project/consilio/typed2'), h.env, 'Value for', value);
    expect(r.out).toContain('a description is required to create project/consilio/typed2');
    expect(r.out).not.toContain('Value for');
    expect(r.code).toBe(2);
    const stale = await onPty(
      set('project/consilio/typed2', ` -d ${q(STRIPE_DESCRIPTION)} --if-version 1`),
      h.env,
      'Value for',
      value,
    );
    expect(stale.out).toContain('is at version 0, not 1');
    expect(stale.out).not.toContain('Value for');
    expect(stale.code).toBe(5);
    expect(
      h.run(['set', 'project/consilio/typed2', '-d', STRIPE_DESCRIPTION], { input: 'v1' }).code,
    ).toBe(0);
    const update = await onPty(set('project/consilio/typed2'), h.env, 'Value for', value);
    expect(update.out).toContain('updated project/consilio/typed2 (dev) version 2');
    expect(update.code).toBe(0);
    expect(h.run(['get', 'project/consilio/typed2']).stdout).toBe(`${value}\n`);
  });

  it('Ctrl-C at the prompt ends coffer as Ctrl-C does (SIGINT, 130); Ctrl-D on an empty line cancels', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const cmd = `${q(process.execPath)} ${q(BIN)} set project/consilio/stripe_api_key -d ${q(STRIPE_DESCRIPTION)}`;
    const prompt = 'Value for project/consilio/stripe_api_key';
    const c = await onPty(cmd, h.env, prompt, 'abc\u0003');
    expect(c.code).toBe(130);
    expect(c.out).not.toContain('--help');
    const d = await onPty(cmd, h.env, prompt, '\u0004');
    expect(d.code).toBe(2);
    expect(d.out).toContain('cancelled at the prompt');
    expect(h.run(['get', 'project/consilio/stripe_api_key']).code).toBe(3);
  });

  it('a paste whose end marker never comes does not hold the prompt for ever: it is refused whole, and a Ctrl-C in it interrupts', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const set = (name: string) =>
      `${q(process.execPath)} ${q(BIN)} set project/consilio/${name} -d ${q(STRIPE_DESCRIPTION)}`;
    const prompt = (name: string) => `Value for project/consilio/${name}`;
    // The terminal sent the start marker and lost the end one (the Enter typed after it is
    // pasted text then): once the terminal has been quiet a while, the prompt gives up and
    // takes none of it, since the rest may only be late.
    // Both at once: each waits for the prompt's give-up delay.
    const [stalled, interrupted] = await Promise.all([
      onPty(set('stalled'), h.env, prompt('stalled'), `${PASTE_START}abc123`),
      onPty(set('interrupted'), h.env, prompt('interrupted'), `${PASTE_START}abc\u0003`),
    ]);
    expect(stalled.code, stalled.out).toBe(2);
    expect(stalled.out).toContain('never ended it; none of it was used');
    expect(stalled.out).not.toContain('abc123');
    expect(h.run(['get', 'project/consilio/stalled']).code).toBe(3);
    expect(interrupted.code).toBe(130);
    expect(h.run(['get', 'project/consilio/interrupted']).code).toBe(3);
  });

  it('SIGTERM at the prompt gives the terminal its modes back (bracketed paste off), then ends coffer by SIGTERM', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const probe = `sigterm_probe_${randomBytes(4).toString('hex')}`;
    const cmd = `${q(process.execPath)} ${q(BIN)} set project/consilio/${probe} -d ${q(STRIPE_DESCRIPTION)}; echo "coffer-exit:$?"`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: h.env, stdio: 'pipe' });
      let text = '';
      let sent = false;
      const onData = (d: Buffer) => {
        text += d.toString('utf8');
        if (!sent && text.includes(PASTE_MODE_ON)) {
          sent = true;
          // Only coffer's own node process (the shell's command line starts with /bin/sh).
          spawnSync('pkill', ['-TERM', '-f', `^${process.execPath} .*${probe}`]);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
    expect(out).toContain('coffer-exit:143');
    expect(out.lastIndexOf(PASTE_MODE_OFF)).toBeGreaterThan(out.lastIndexOf(PASTE_MODE_ON));
  });

  // The intruder: a PEM key pasted at the prompt. Before, coffer stored its first line, said
  // "created", and left the rest in the terminal's queue for the next program (the shell).
  for (const bracketed of [true, false]) {
    it(`a key of several lines pasted at the prompt is refused whole and none of it reaches the next program (${bracketed ? 'bracketed paste, in pieces' : 'a terminal without bracketed paste'})`, async () => {
      const h = makeHome();
      expect(h.run(['init']).code).toBe(0);
      const key = fakePemKey(24);
      const follower = 'IFS= read -r next; echo "follower-read:[$next]"';
      const cmd = `${q(process.execPath)} ${q(BIN)} set project/consilio/tls_key -d ${q('TLS private key for serving HTTPS on the public API')}; echo "coffer-exit:$?"; ${follower}`;
      const r = await pasteOnPty(cmd, h.env, {
        prompt: 'Value for project/consilio/tls_key',
        // Without the markers only the terminal's quiet moment tells where the paste ends, so
        // that terminal's paste is one write; with them, the pieces may come at any pace.
        chunks: bracketed ? piecesOf(key.text, 5) : [key.text],
        bracketed,
        after: 'coffer-exit:',
        next: 'typed-after-coffer',
      });
      expect(r.out).toContain('coffer-exit:2');
      expect(r.out).toContain('more than one line');
      expect(r.out).toContain('coffer set project/consilio/tls_key < key.pem');
      // The next program reads what was typed after coffer, not the rest of the key ...
      expect(r.out).toContain('follower-read:[typed-after-coffer]');
      // ... and no line of the key shows anywhere (no echo by the terminal or a shell).
      for (const line of key.body) expect(r.out).not.toContain(line.slice(0, 24));
      expect(r.out.lastIndexOf(PASTE_MODE_OFF)).toBeGreaterThan(r.out.lastIndexOf(PASTE_MODE_ON));
      expect(h.run(['get', 'project/consilio/tls_key']).code).toBe(3);
    });
  }

  it('a value of one line pasted with its line break is stored, and the follower reads on', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const value = `pasted-${randomBytes(12).toString('hex')}`;
    const cmd = `${q(process.execPath)} ${q(BIN)} set project/consilio/stripe_api_key -d ${q(STRIPE_DESCRIPTION)}; echo "coffer-exit:$?"; IFS= read -r next; echo "follower-read:[$next]"`;
    const r = await pasteOnPty(cmd, h.env, {
      prompt: 'Value for project/consilio/stripe_api_key',
      chunks: piecesOf(`${value}\r`, 2),
      bracketed: true,
      after: 'coffer-exit:',
      next: 'typed-after-coffer',
    });
    expect(r.out).toContain('coffer-exit:0');
    expect(r.out).toContain('follower-read:[typed-after-coffer]');
    expect(r.out).not.toContain(value);
    expect(h.run(['get', 'project/consilio/stripe_api_key']).stdout).toBe(`${value}\n`);
  });

  it('env parse with no file on a terminal says to pass or pipe one instead of waiting', async () => {
    const h = makeHome();
    const r = await onPty(`${q(process.execPath)} ${q(BIN)} env parse`, h.env);
    expect(r.code).toBe(2);
    expect(r.out).toContain('coffer env parse needs a file or piped input');
    expect(r.out).toContain('coffer env parse .env');
    // Piped, it reads stdin as before.
    expect(h.run(['env', 'parse'], { input: 'A=1\n' }).stdout).toBe('{\n  "A": "1"\n}\n');
  });

  it('key rotate shows a progress bar', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    for (let i = 0; i < 3; i++) {
      expect(
        h.run(['set', `project/consilio/key_${i}`, '-d', 'Progress bar test secret for billing'], {
          input: `v${i}`,
        }).code,
      ).toBe(0);
    }
    const r = await onPty(`${q(process.execPath)} ${q(BIN)} key rotate --batch-size 1`, h.env);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/re-wrapping data keys \[#+\.*\] 3\/3 100%/);
  });
});

describe.skipIf(!hasScript)('on a terminal, in remote mode (COFFER_URL)', () => {
  const server = makeHome();
  const client = makeHome();
  let serve: ServeProcess;
  let writer: string;
  let narrow: string;
  const tokenFor = (name: string, allow: string): string => {
    const r = server.run([
      ...['token', 'create', '--name', name, '--allow', allow],
      ...['--cap', 'read,list,write', '--json'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { token: string }).token;
  };
  const remote = (token: string) => ({ ...client.env, COFFER_URL: serve.url, COFFER_TOKEN: token });
  const set = (path: string, more = '') => `${q(process.execPath)} ${q(BIN)} set ${path}${more}`;

  beforeAll(async () => {
    expect(server.run(['init']).code).toBe(0);
    writer = tokenFor('deploy', 'project/**');
    narrow = tokenFor('app-only', 'project/app/*');
    serve = await startServe(server.env, ['--log-level', 'warn']);
  });
  afterAll(async () => {
    await serve?.stop();
  });

  it('set of a new secret without a description is refused by the server before the value is asked for; an existing one is asked for', async () => {
    const value = 'typed-remote-secret-4K7pQ1';
    const env = remote(writer);
    const r = await onPty(set('project/x/new'), env, 'Value for', value);
    expect(r.out).toContain('a description is required to create project/x/new');
    expect(r.out).not.toContain('Value for');
    expect(r.code).toBe(2);
    const stale = await onPty(
      set('project/x/new', ` -d ${q(STRIPE_DESCRIPTION)} --if-version 1`),
      env,
      'Value for',
      value,
    );
    expect(stale.out).toContain('project/x/new (dev) is at version 0, not 1');
    expect(stale.out).not.toContain('Value for');
    expect(stale.code).toBe(5);
    expect(server.run(['get', 'project/x/new']).code).toBe(3);
    // With a description the check passes and the value is asked for and stored ...
    const created = await onPty(
      set('project/x/new', ` -d ${q(STRIPE_DESCRIPTION)}`),
      env,
      'Value for',
      value,
    );
    expect(created.out).toContain('Value for project/x/new (dev):');
    expect(created.out).toContain('created project/x/new (dev) version 1');
    expect(created.out).not.toContain(value);
    expect(created.code).toBe(0);
    // ... and an existing secret needs none.
    const updated = await onPty(set('project/x/new'), env, 'Value for', `${value}-2`);
    expect(updated.out).toContain('updated project/x/new (dev) version 2');
    expect(updated.code).toBe(0);
    expect(server.run(['get', 'project/x/new']).stdout).toBe(`${value}-2\n`);
  });

  it('a token that may not write the path is refused before the value is asked for, and the server audits the refusal', async () => {
    const r = await onPty(
      set('project/x/other', ` -d ${q(STRIPE_DESCRIPTION)}`),
      remote(narrow),
      'Value for',
      'typed-remote-secret-9L2mW5',
    );
    expect(r.out).toContain('this token may not do that: path not allowed');
    expect(r.out).not.toContain('Value for');
    expect(r.code).toBe(4);
    const audit = server.run(['audit', '--path', 'project/x/other', '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    const records = (JSON.parse(audit.stdout) as { records: Record<string, unknown>[] }).records;
    expect(records.map((x) => [x.action, x.outcome, x.detail])).toEqual([
      ['set', 'denied', 'path not allowed'],
    ]);
    expect(records[0]!.actor).toMatch(/^token:app-only@127\.0\.0\.1/);
  });
});

describe.skipIf(!hasScript)('on a terminal, against a server without the check', () => {
  const token = 'coffer_fake02_q0DPm6bH4vXc1nKz8sY2fLwR9aTeJ5uGhB7iNoVdE3x';
  const client = makeHome();
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeServer(token);
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('set still works: the value is asked for, and the server refuses or stores it as before', async () => {
    const env = { ...client.env, COFFER_URL: fake.url, COFFER_TOKEN: token };
    const set = (more: string) =>
      `${q(process.execPath)} ${q(BIN)} set project/x/old_server${more}`;
    const refused = await onPty(set(''), env, 'Value for', 'typed-old-server-1');
    expect(refused.out).toContain('Value for project/x/old_server (dev):');
    expect(refused.out).toContain('a description is required to create project/x/old_server');
    expect(refused.code).toBe(2);
    const stored = await onPty(
      set(` -d ${q(STRIPE_DESCRIPTION)}`),
      env,
      'Value for',
      'typed-old-server-2',
    );
    expect(stored.out).toContain('created project/x/old_server (dev) version 1');
    expect(stored.code).toBe(0);
    const route = 'POST /v1/secrets/project/x/old_server/check-set';
    expect(fake.requests).toEqual([
      route,
      'PUT /v1/secrets/project/x/old_server',
      route,
      'PUT /v1/secrets/project/x/old_server',
    ]);
  });
});
