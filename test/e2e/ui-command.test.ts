/**
 * `coffer ui` from the built binary: it serves on a loopback address of its own (a random
 * 127.x.y.z, not 127.0.0.1, whose cookies any other local server would get), prints a one-time login link,
 * and the link logs in once (a session cookie), then never again; the session acts as the
 * local user in the audit log. No value is in the pages it serves.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
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
