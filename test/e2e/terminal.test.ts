/**
 * Terminal behaviour through a real pseudo-terminal (util-linux `script`): the hidden value
 * prompt of `coffer set` does not echo the value nor accept an empty one, and `coffer key rotate` draws a progress
 * bar. Skipped, with a message, where `script` is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, makeHome, STRIPE_DESCRIPTION } from './harness.js';

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

describe.skipIf(!hasScript)('on a terminal', () => {
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
