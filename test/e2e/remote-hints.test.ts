/**
 * Remote mode shows a refusal's hint as local mode does: the same commands run against a local
 * vault and, through COFFER_URL + COFFER_TOKEN, against a real `coffer serve` on 127.0.0.1;
 * each refusal prints the same `hint:` line (and the same `hint` with --json) in both. The
 * server's own message gets its request id appended, so messages are compared without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type RunResult, runCoffer } from './harness.js';
import { type ServeProcess, startServe } from './serve-harness.js';

const VALUE = 'postgres://app:h1nt-Remote-Pw@db.internal/app';
const DESCRIPTION = 'Database URL of the app service for order storage';

/** stderr without the request id the remote CLI adds to the server's message. */
function shown(r: RunResult): string {
  return r.stderr.replace(/ \(request id [\w.:-]+\)/g, '');
}

function hintLine(r: RunResult): string | undefined {
  return r.stderr.split('\n').find((line) => line.startsWith('coffer: hint: '));
}

describe('remote mode shows the hints local mode shows', () => {
  const server = makeHome();
  const client = makeHome();
  const local = makeHome();
  let serve: ServeProcess;
  let remoteEnv: Record<string, string>;
  const remote = (args: string[], input = ''): RunResult =>
    runCoffer(args, { input, env: remoteEnv });
  const both = (args: string[], input = ''): [RunResult, RunResult] => [
    local.run(args, { input }),
    remote(args, input),
  ];

  beforeAll(async () => {
    expect(server.run(['init']).code).toBe(0);
    expect(local.run(['init']).code).toBe(0);
    const created = server.run([
      'token',
      'create',
      '--name',
      'hints',
      '--allow',
      'project/**',
      '--cap',
      'read,list,write',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    serve = await startServe(server.env, ['--log-level', 'warn']);
    remoteEnv = { ...client.env, COFFER_URL: serve.url, COFFER_TOKEN: token };
    const [ls, rs] = both(['set', 'project/app/db_url', '-d', DESCRIPTION], VALUE);
    expect([ls.code, rs.code], rs.stderr).toEqual([0, 0]);
  });

  afterAll(async () => {
    await serve?.stop();
  });

  it('a new secret without --description: the hint says to pass one', () => {
    const [l, r] = both(['set', 'project/app/api_key'], VALUE);
    expect([l.code, r.code]).toEqual([2, 2]);
    expect(hintLine(l)).toContain('Pass --description');
    expect(shown(r)).toBe(shown(l));
    const [lj, rj] = both(['set', 'project/app/api_key', '--json'], VALUE);
    const error = (s: RunResult) => (JSON.parse(s.stderr) as { error: { hint?: string } }).error;
    expect(error(rj).hint).toBeDefined();
    expect(error(rj).hint).toBe(error(lj).hint);
    for (const text of [r.stderr, rj.stderr]) expect(text).not.toContain('h1nt-Remote-Pw');
  });

  it('a project or environment that holds nothing: the hint names what to pass', () => {
    const run = ['run', '--no-mask', '--', process.execPath, '-e', '0'];
    const [lp, rp] = both(['run', '-p', 'ap', ...run.slice(1)]);
    expect([lp.code, rp.code]).toEqual([3, 3]);
    expect(hintLine(lp)).toContain('Pass --project app');
    expect(shown(rp)).toBe(shown(lp));
    const [le, re] = both(['run', '-p', 'app', '--env', 'prod', ...run.slice(1)]);
    expect([le.code, re.code]).toEqual([3, 3]);
    expect(hintLine(le)).toContain('Pass --env dev');
    expect(shown(re)).toBe(shown(le));
  });

  it('a stale --if-version and a bad environment name: the same hint as locally', () => {
    const [lv, rv] = both(['set', 'project/app/db_url', '--if-version', '7'], 'late');
    expect([lv.code, rv.code]).toEqual([5, 5]);
    expect(hintLine(rv)).toBeDefined();
    expect(shown(rv)).toBe(shown(lv));
    const [le, re] = both(['get', 'project/app/db_url', '--env', 'Prod!']);
    expect([le.code, re.code]).toEqual([2, 2]);
    expect(hintLine(re)).toBeDefined();
    expect(shown(re)).toBe(shown(le));
  });

  it("a path outside the token's scope: FORBIDDEN with the hint", () => {
    const r = remote(['set', 'meta/billing/db_url', '-d', DESCRIPTION], VALUE);
    expect(r.code).toBe(4);
    expect(hintLine(r)).toBe(
      "coffer: hint: The token's paths, environments or capabilities do not cover this request.",
    );
    expect(r.stderr).not.toContain('h1nt-Remote-Pw');
  });
});
