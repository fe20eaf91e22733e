/**
 * `coffer setup` and `coffer manifest check` in remote mode (COFFER_URL + COFFER_TOKEN)
 * against a spawned `coffer serve`: the same steps, metadata and exit codes as in local mode,
 * within the token's policy, audited by the server.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECEPTOR_MANIFEST, RECEPTOR_TIER1, RECEPTOR_TIER2 } from '../helpers/receptor-manifest.js';
import { finished, makeHome, spawnCoffer } from './harness.js';
import { type ServeProcess, startServe } from './serve-harness.js';

const TIER2: Record<string, string> = {
  OPENAI_API_KEY: 'sk-proj-remote-value-1',
  SMTP_PASS: 'smtp-remote-value-2',
  CLOUDFLARED_TOKEN: 'cf-remote-value-3',
};

type Home = ReturnType<typeof makeHome>;

function tokenFor(server: Home, name: string, caps: string): string {
  const r = server.run([
    ...['token', 'create', '--name', name, '--allow', 'project/receptor/*'],
    ...['--cap', caps, '--json'],
  ]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { token: string }).token;
}

/** The metadata of the project's secrets in one environment, as `list --json` shows it. */
function metadataOf(home: Home, env: string) {
  const r = home.run(['list', 'project/receptor', '--env', env, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout).items as Record<string, unknown>[]).map((s) => ({
    path: s.path,
    description: s.description,
    tier: s.tier,
    rotation: s.rotation,
    envVar: s.envVar,
    localOnly: s.localOnly,
    generator: s.generator,
    currentVersion: s.currentVersion,
  }));
}

describe('coffer setup and manifest check in remote mode', () => {
  const server = makeHome();
  const client = makeHome();
  const dir = join(client.home, 'receptor');
  let serve: ServeProcess;
  let writer: string;
  let reader: string;

  beforeAll(async () => {
    expect(server.run(['init']).code).toBe(0);
    writer = tokenFor(server, 'deploy', 'read,list,write');
    reader = tokenFor(server, 'ci', 'read,list');
    serve = await startServe(server.env, ['--log-level', 'warn']);
    mkdirSync(dir);
    writeFileSync(join(dir, 'coffer.yaml'), RECEPTOR_MANIFEST);
  });
  afterAll(async () => {
    await serve?.stop();
  });

  const remote = (args: string[], token: string, env: Record<string, string> = {}) =>
    finished(
      spawnCoffer(args, {
        cwd: dir,
        env: { ...client.env, COFFER_URL: serve.url, COFFER_TOKEN: token, ...env },
      }),
    );

  it('check, setup dev twice, check again: as in local mode, stored on the server', async () => {
    const before = await remote(['manifest', 'check', '--json'], reader);
    expect(before.code, before.stderr).toBe(1);
    expect(JSON.parse(before.stdout).missing.map((m: { name: string }) => m.name)).toEqual([
      ...RECEPTOR_TIER1,
      ...RECEPTOR_TIER2,
    ]);

    const first = await remote(['setup', '--env', 'dev', '--write-env', '--json'], writer, TIER2);
    expect(first.code, first.stderr).toBe(0);
    const steps = Object.fromEntries(
      (JSON.parse(first.stdout).steps as { name: string; action: string }[]).map((s) => [
        s.name,
        s.action,
      ]),
    );
    expect(steps).toEqual({
      JWT_SECRET: 'generate',
      POSTGRES_PASSWORD: 'generate',
      SERVICE_ROLE_KEY: 'generate',
      OPENAI_API_KEY: 'from-env',
      SMTP_PASS: 'from-env',
      CLOUDFLARED_TOKEN: 'from-env',
      PUBLIC_URL: 'value',
    });
    const text = readFileSync(join(dir, '.env'), 'utf8');
    const written = dotenv.parse(text);
    const jwt = server.run(['get', 'project/receptor/jwt_secret']);
    expect(jwt.stdout).toBe(`${written.JWT_SECRET}\n`);
    expect(written.OPENAI_API_KEY).toBe(TIER2.OPENAI_API_KEY);

    // The metadata is what a local setup of the same manifest stores.
    const local = makeHome();
    expect(local.run(['init']).code).toBe(0);
    const localDir = join(local.home, 'receptor');
    mkdirSync(localDir);
    writeFileSync(join(localDir, 'coffer.yaml'), RECEPTOR_MANIFEST);
    const localSetup = local.run(['setup', '--env', 'dev'], { cwd: localDir, env: TIER2 });
    expect(localSetup.code, localSetup.stderr).toBe(0);
    const stored = metadataOf(server, 'dev');
    expect(stored).toEqual(metadataOf(local, 'dev'));
    expect(stored.find((s) => s.path === 'project/receptor/jwt_secret')).toMatchObject({
      tier: 1,
      generator: 'hex:32',
    });

    // Second run: nothing stored, the .env file unchanged.
    const second = await remote(['setup', '--env', 'dev', '--write-env', '--json'], writer);
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout);
    expect(new Set(again.steps.map((s: { action: string }) => s.action))).toEqual(
      new Set(['keep', 'value']),
    );
    expect(again.dotenv.written).toBe(false);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe(text);
    expect(metadataOf(server, 'dev').map((s) => s.currentVersion)).toEqual(stored.map(() => 1));

    const after = await remote(['manifest', 'check'], reader);
    expect(after.code, after.stderr).toBe(0);
    for (const out of [first, second, after]) {
      expect(out.stdout + out.stderr).not.toContain(written.JWT_SECRET!);
      expect(out.stdout + out.stderr).not.toContain(TIER2.SMTP_PASS!);
    }
  });

  it('prod with nothing exported: exit 1 listing every missing name, nothing stored', async () => {
    const r = await remote(['setup', '--env', 'prod'], writer);
    expect(r.code).toBe(1);
    for (const name of [...RECEPTOR_TIER1, ...RECEPTOR_TIER2]) expect(r.stderr).toContain(name);
    expect(metadataOf(server, 'prod')).toEqual([]);
  });

  it("the token's policy applies: a read-only token cannot store, and the refusal is audited", async () => {
    const r = await remote(['setup', '--env', 'prod'], reader, {
      ...TIER2,
      JWT_SECRET: 'j'.repeat(32),
      POSTGRES_PASSWORD: 'p'.repeat(32),
      SERVICE_ROLE_KEY: 's'.repeat(32),
    });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('capability write not granted');
    expect(metadataOf(server, 'prod')).toEqual([]);
    const audit = server.run(['audit', '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    const records = JSON.parse(audit.stdout).records as {
      actor: string;
      action: string;
      outcome: string;
    }[];
    expect(records.filter((x) => x.outcome === 'denied')).toEqual([
      expect.objectContaining({ actor: 'token:ci@127.0.0.1', action: 'set', outcome: 'denied' }),
    ]);
  });
});
