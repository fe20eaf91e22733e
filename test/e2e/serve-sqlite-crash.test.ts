/**
 * `coffer serve` on the SQLite vault, killed (SIGKILL) right after answering: every read it
 * answered has its audit record in the vault, every write it acknowledged is there, and the
 * audit chain verifies. Reads are committed before they are answered and synced to disk
 * within 10 ms (group commit), so a crash of the process loses nothing it answered; with
 * `--sync-reads` the answer waits for the sync as well.
 */
import { describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';
import { startServe } from './serve-harness.js';

const PATH = 'project/crash/api_key';
const VALUE = 'sk_live_crash_0123456789abcdef';

interface AuditRecord {
  action: string;
  outcome: string;
  actor: string;
}

async function crashAfterLoad(args: string[]): Promise<void> {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const set = h.run(['set', PATH, '-d', 'Payment API key used by the crash test'], {
    input: VALUE,
  });
  expect(set.code, set.stderr).toBe(0);
  const created = h.run([
    ...['token', 'create', '--name', 'crash', '--allow', 'project/crash/*'],
    ...['--cap', 'read,write', '--json'],
  ]);
  expect(created.code, created.stderr).toBe(0);
  const { token } = JSON.parse(created.stdout) as { token: string };
  const headers = { authorization: `Bearer ${token}` };

  const serve = await startServe(h.env, ['--log-level', 'warn', ...args]);
  let answered = 0;
  try {
    const url = `${serve.url}/v1/secrets/${PATH}?env=dev`;
    // Waves of concurrent reads, so that many share a commit.
    for (let wave = 0; wave < 10; wave++) {
      const bodies = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const r = await fetch(url, { headers });
          expect(r.status).toBe(200);
          return (await r.json()) as { value: string };
        }),
      );
      for (const b of bodies) expect(b.value).toBe(VALUE);
      answered += bodies.length;
    }
    const put = await fetch(url, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ value: `${VALUE}-v2`, ifVersion: 1 }),
    });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { version: number }).version).toBe(2);
  } finally {
    const killed = await serve.kill();
    expect(killed.signal).toBe('SIGKILL');
  }

  const verify = h.run(['audit', 'verify', '--json']);
  expect(verify.code, verify.stderr).toBe(0);
  expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  const audit = h.run(['audit', '--json', '--limit', '1000']);
  expect(audit.code, audit.stderr).toBe(0);
  const { records } = JSON.parse(audit.stdout) as { records: AuditRecord[] };
  const reads = records.filter(
    (r) => r.action === 'get' && r.outcome === 'ok' && r.actor.startsWith('token:crash@'),
  );
  expect(reads).toHaveLength(answered);
  const got = h.run(['get', PATH]);
  expect(got.code, got.stderr).toBe(0);
  expect(got.stdout.trim()).toBe(`${VALUE}-v2`);
}

describe('coffer serve on SQLite, killed with SIGKILL after answering', () => {
  it('keeps the audit record of every answered read and every acknowledged write', async () => {
    await crashAfterLoad([]);
  });

  it('likewise with --sync-reads', async () => {
    await crashAfterLoad(['--sync-reads']);
  });
});
