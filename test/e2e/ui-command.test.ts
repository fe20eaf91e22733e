/**
 * `coffer ui` from the built binary: it serves on a loopback address of its own (a random
 * 127.x.y.z, not 127.0.0.1, whose cookies any other local server would get), prints a one-time login link,
 * and the link logs in once (a session cookie), then never again; the session acts as the
 * local user in the audit log. No value is in the pages it serves.
 *
 * Opening the browser: with a stand-in `xdg-open` on PATH that records its argv (what any
 * local user reads with `ps`), the link's code is in no process's argv; the launcher gets
 * the path of a 0600 page in a 0700 directory, which a real browser (Chromium) follows to a
 * session, and which is gone once the link is used, or when coffer ui stops.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { makeHome, spawnCoffer } from './harness.js';

const VALUE = 'ui-command-sentinel-Vq81';

function firstLine(child: ReturnType<typeof spawnCoffer>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`coffer ui exited (${code}) before its link`)));
  });
}

describe('coffer ui', () => {
  it('prints a one-time login link on a loopback address of its own that logs in once', async () => {
    const h = makeHome();
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    expect(h.run(['init'], { env }).code).toBe(0);
    const set = h.run(['set', 'project/app/db_url', '-d', 'Database URL of the app'], {
      env,
      input: VALUE,
    });
    expect(set.code).toBe(0);
    const child = spawnCoffer(['ui', '--no-open'], { env });
    try {
      const link = await firstLine(child);
      expect(link).toMatch(/^http:\/\/127\.\d+\.\d+\.\d+:\d+\/login\/link\/[A-Za-z0-9_-]{43}$/);
      // Linux answers on all of 127.0.0.0/8: the address is not the one every server shares.
      if (process.platform === 'linux') expect(new URL(link).hostname).not.toBe('127.0.0.1');
      const first = await fetch(link, { redirect: 'manual' });
      expect(first.status).toBe(303);
      const cookie = /coffer_session=[^;]+/.exec(first.headers.get('set-cookie') ?? '')?.[0];
      expect(cookie).toBeDefined();
      const base = new URL(link).origin;
      const page = await fetch(`${base}/p/project/app`, { headers: { cookie: cookie! } });
      const html = await page.text();
      expect(page.status).toBe(200);
      expect(html).toContain('db_url');
      expect(html).not.toContain(VALUE);
      expect((await fetch(link, { redirect: 'manual' })).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const audit = h.run(['audit', '--json', '-n', '20'], { env });
    const records = (JSON.parse(audit.stdout) as { records: { actor: string; action: string }[] })
      .records;
    const login = records.find((r) => r.action === 'ui_login');
    expect(login?.actor).toMatch(/^ui:.+@127\.\d+\.\d+\.\d+$/);
  });

  it('--host 127.0.0.1 serves where a port forward expects it; an address off this machine is refused', async () => {
    const h = makeHome();
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    expect(h.run(['init'], { env }).code).toBe(0);
    const off = h.run(['ui', '--no-open', '--host', '0.0.0.0'], { env });
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('not a loopback address');
    const child = spawnCoffer(['ui', '--no-open', '--host', '127.0.0.1'], { env });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    try {
      const link = await firstLine(child);
      expect(new URL(link).hostname).toBe('127.0.0.1');
      // SIGUSR1 opens no debugger in the process that holds the master key.
      child.kill('SIGUSR1');
      await new Promise((r) => setTimeout(r, 300));
      expect((await fetch(`${new URL(link).origin}/login`)).status).toBe(200);
      expect(stderr).not.toContain('Debugger listening');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});

/** Waits until `check` holds, polling every 50 ms, for at most `ms`. */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The argv of every process this user may read (/proc/PID/cmdline), as `ps` shows them. */
function everyArgv(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      out.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A stand-in `xdg-open` in a directory of its own: it records its argv, the modes of the
 * file it is given and of that file's directory, and a copy of the file, then holds on (as a
 * browser starting does) until the test creates `release`.
 */
function standInLauncher(): { bin: string; record: string; release: string } {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-launcher-'));
  scratch.push(dir);
  const bin = join(dir, 'bin');
  const record = join(dir, 'record');
  const release = join(dir, 'release');
  const script = `#!/bin/sh
r='${record}'
: > "$r.argv"
for a in "$0" "$@"; do printf '%s\\n' "$a" >> "$r.argv"; done
stat -c %a "$1" > "$r.filemode" 2>/dev/null
stat -c %a "$(dirname "$1")" > "$r.dirmode" 2>/dev/null
cp "$1" "$r.html" 2>/dev/null
: > "$r.ready"
i=0
while [ ! -e '${release}' ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
`;
  mkdirSync(bin);
  writeFileSync(join(bin, 'xdg-open'), script);
  chmodSync(join(bin, 'xdg-open'), 0o755);
  return { bin, record, release };
}

describe.skipIf(process.platform !== 'linux')('coffer ui opening the browser', () => {
  it('puts the login link in no argv: the launcher gets a private page that leads to a session, deleted once used', async () => {
    const h = makeHome();
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    expect(h.run(['init'], { env }).code).toBe(0);
    const set = h.run(['set', 'project/app/db_url', '-d', 'Database URL of the app'], {
      env,
      input: VALUE,
    });
    expect(set.code).toBe(0);
    const launcher = standInLauncher();
    const child = spawnCoffer(['ui'], {
      env: { ...env, DISPLAY: ':99', PATH: `${launcher.bin}:${h.env.PATH}` },
    });
    const browser = await launchChromium();
    try {
      const link = await firstLine(child);
      const code = link.slice(link.lastIndexOf('/') + 1);
      expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await until(() => existsSync(`${launcher.record}.ready`));
      // While the launcher runs, as the reviewer's `ps` did: the code is in no one's argv.
      const argvs = everyArgv();
      expect(argvs.some((a) => a.includes('xdg-open'))).toBe(true);
      expect(argvs.filter((a) => a.includes(code))).toEqual([]);
      const argv = readFileSync(`${launcher.record}.argv`, 'utf8').trimEnd().split('\n');
      expect(argv).toHaveLength(2);
      expect(argv.join(' ')).not.toContain(code);
      const page = argv[1]!;
      expect(page).toMatch(/\.html$/);
      expect(readFileSync(`${launcher.record}.filemode`, 'utf8').trim()).toBe('600');
      expect(readFileSync(`${launcher.record}.dirmode`, 'utf8').trim()).toBe('700');
      expect(readFileSync(`${launcher.record}.html`, 'utf8')).toContain(link);
      writeFileSync(launcher.release, '');

      // What the browser does with the path: follows the page to the link, and is logged in.
      const context = await browser.newContext();
      const tab = await context.newPage();
      const origin = new URL(link).origin;
      await tab.goto(`file://${page}`);
      // on to / (not /login): the session cookie came along
      await tab.waitForURL(`${origin}/`);
      expect(await tab.content()).toContain('Log out');
      const projectPage = await tab.goto(`${origin}/p/project/app`);
      expect(projectPage?.status()).toBe(200);
      expect(await tab.content()).toContain('db_url');
      await context.close();
      // Used: the page and its directory are gone, and the link logs in no one else.
      await until(() => !existsSync(dirname(page)), 2000);
      expect((await fetch(link, { redirect: 'manual' })).status).toBe(401);
    } finally {
      await browser.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('deletes the page at exit when the link was never used; --no-open writes none', async () => {
    const h = makeHome();
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    expect(h.run(['init'], { env }).code).toBe(0);
    const launcher = standInLauncher();
    const child = spawnCoffer(['ui'], {
      env: { ...env, DISPLAY: ':99', PATH: `${launcher.bin}:${h.env.PATH}` },
    });
    let page: string;
    try {
      await firstLine(child);
      await until(() => existsSync(`${launcher.record}.ready`));
      page = readFileSync(`${launcher.record}.argv`, 'utf8').trimEnd().split('\n')[1]!;
      expect(existsSync(page)).toBe(true);
      writeFileSync(launcher.release, '');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    expect(existsSync(dirname(page))).toBe(false);

    const quiet = standInLauncher();
    const noOpen = spawnCoffer(['ui', '--no-open'], {
      env: { ...env, DISPLAY: ':99', PATH: `${quiet.bin}:${h.env.PATH}` },
    });
    try {
      await firstLine(noOpen);
      await new Promise((r) => setTimeout(r, 300));
      expect(existsSync(`${quiet.record}.argv`)).toBe(false);
    } finally {
      noOpen.kill('SIGTERM');
      await new Promise((r) => noOpen.once('exit', r));
    }
  });
});
