/**
 * `coffer export` through the built binary: values only in a 0600 file or on stdout when
 * asked, local-only secrets never, derived values resolved, github-actions without values,
 * a k8s Secret piped to a fake `kubectl` on stdin, and compose output checked by
 * `docker compose config` where it is installed.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { auditRecords, makeHome, runCoffer } from './harness.js';

const DESCRIPTION = 'Stripe API key for payment processing';

function setup() {
  const h = makeHome();
  const run = (args: string[], input = '', env: Record<string, string> = {}) =>
    h.run(args, { input, cwd: h.home, env });
  expect(run(['init']).code).toBe(0);
  const set = (path: string, value: string, description = DESCRIPTION) => {
    const r = run(['set', path, '-d', description, '--env', 'prod'], value);
    expect(r.code, r.stderr).toBe(0);
  };
  set('project/consilio/stripe_api_key', 'sk_live_"quoted" $HOME value');
  set('project/consilio/db_password', 'pw-8c1f2a');
  set(
    'project/consilio/database_url',
    'postgres://app:{{ coffer://project/consilio/db_password }}@db/app',
    'Connection URL of the app database',
  );
  set(
    'project/consilio/dev_tunnel_token',
    'tunnel-secret-9e3d',
    'Token of the local development tunnel',
  );
  expect(
    run(['describe', 'project/consilio/dev_tunnel_token', '--env', 'prod', '--local-only']).code,
  ).toBe(0);
  return { ...h, run };
}

/** A workflow's reference to a repository secret. */
const secretRef = (name: string) => `\${{ secrets.${name} }}`;

const EXPECTED = {
  DATABASE_URL: 'postgres://app:pw-8c1f2a@db/app',
  DB_PASSWORD: 'pw-8c1f2a',
  STRIPE_API_KEY: 'sk_live_"quoted" $HOME value',
};

describe('coffer export (binary)', () => {
  it('--out through a directory the user linked elsewhere (~/backups -> /mnt/usb) is written; a link at the file itself is refused', () => {
    const h = setup();
    const elsewhere = mkdtempSync(join(tmpdir(), 'coffer-usb-'));
    symlinkSync(elsewhere, join(h.home, 'backups'));
    const r = h.run([
      'export',
      '-p',
      'consilio',
      '-e',
      'prod',
      '-F',
      'dotenv',
      '--out',
      'backups/prod.env',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseDotenv(readFileSync(join(elsewhere, 'prod.env')))).toMatchObject({
      DB_PASSWORD: EXPECTED.DB_PASSWORD,
    });
    symlinkSync(join(elsewhere, 'other.env'), join(h.home, 'linked.env'));
    const linked = h.run([
      'export',
      '-p',
      'consilio',
      '-e',
      'prod',
      '-F',
      'dotenv',
      '--out',
      'linked.env',
      '--force',
    ]);
    expect(linked.code).toBe(2);
    expect(linked.stderr).toContain('is a symbolic link');
  });

  it('writes values only to a 0600 file or to stdout when asked; never local-only ones', () => {
    const h = setup();
    const refused = h.run(['export', '-p', 'consilio', '-e', 'prod', '-F', 'dotenv']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/holds secret values: name where it goes/);

    const r = h.run(['export', '-p', 'consilio', '-e', 'prod', '-F', 'dotenv', '-o', 'prod.env']);
    expect(r.code, r.stderr).toBe(0);
    const file = join(h.home, 'prod.env');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(parseDotenv(readFileSync(file))).toEqual(EXPECTED);
    expect(r.stderr).toMatch(
      /left out DEV_TUNNEL_TOKEN \(project\/consilio\/dev_tunnel_token\): local-only/,
    );
    expect(r.stdout + r.stderr).not.toContain('tunnel-secret');

    const again = h.run([
      'export',
      '-p',
      'consilio',
      '-e',
      'prod',
      '-F',
      'dotenv',
      '-o',
      'prod.env',
    ]);
    expect(again.code).toBe(5);

    const json = h.run(['export', '-p', 'consilio', '-e', 'prod', '-F', 'json', '-o', '-']);
    expect(JSON.parse(json.stdout)).toEqual(EXPECTED);
    const shell = h.run(['export', '-p', 'consilio', '-e', 'prod', '-F', 'shell', '-o', '-']);
    const sh = spawnSync('sh', ['-c', `${shell.stdout}\nprintf %s "$STRIPE_API_KEY"`], {
      encoding: 'utf8',
    });
    expect(sh.stdout).toBe(EXPECTED.STRIPE_API_KEY);
  });

  it('a derived value is resolved alike by export, run and env pull', () => {
    const h = setup();
    const exported = JSON.parse(
      h.run(['export', '-p', 'consilio', '-e', 'prod', '-F', 'json', '-o', '-']).stdout,
    ) as Record<string, string>;
    expect(exported.DATABASE_URL).toBe(EXPECTED.DATABASE_URL);
    const run = h.run([
      'run',
      '-p',
      'consilio',
      '-e',
      'prod',
      '--no-mask',
      '--',
      process.execPath,
      '-e',
      'process.stdout.write(process.env.DATABASE_URL)',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(EXPECTED.DATABASE_URL);
    const pulled = h.run(['env', 'pull', '-p', 'consilio', '-e', 'prod', '-f', '-']);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(parseDotenv(Buffer.from(pulled.stdout)).DATABASE_URL).toBe(EXPECTED.DATABASE_URL);
  });

  it('run masks what a derived value is made of, also a secret it does not inject', () => {
    const h = setup();
    const pw = 'pg-admin-pw-7Rq2Lm';
    const set = (path: string, value: string) =>
      h.run(['set', path, '-d', 'Admin connection of the app database', '--env', 'prod'], value);
    expect(set('meta/pg/admin_password', pw).code).toBe(0);
    expect(
      set(
        'project/consilio/admin_url',
        'postgres://admin:{{ coffer://meta/pg/admin_password }}@db/app',
      ).code,
    ).toBe(0);
    const r = h.run([
      'run',
      '-p',
      'consilio',
      '-e',
      'prod',
      '--mask',
      '--',
      process.execPath,
      '-e',
      'console.log("pw=" + new URL(process.env.ADMIN_URL).password)',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(pw);
    expect(r.stdout).toContain('pw=[REDACTED]');
  });

  it('github-actions output names secrets and holds no value', () => {
    const h = setup();
    const r = h.run(['export', '-p', 'consilio', '-e', 'prod', '-F', 'github-actions']);
    expect(r.code, r.stderr).toBe(0);
    const block = parseYaml(r.stdout) as { env: Record<string, string> };
    expect(block.env).toEqual({
      DATABASE_URL: secretRef('DATABASE_URL'),
      DB_PASSWORD: secretRef('DB_PASSWORD'),
      STRIPE_API_KEY: secretRef('STRIPE_API_KEY'),
    });
    for (const v of [...Object.values(EXPECTED), 'tunnel-secret-9e3d']) {
      expect(r.stdout + r.stderr).not.toContain(v);
    }
  });

  it('k8s: a valid Secret, piped to kubectl apply on stdin (no value in its argv)', () => {
    const h = setup();
    const r = h.run([
      'export',
      '-p',
      'consilio',
      '-e',
      'prod',
      '-F',
      'k8s',
      '-o',
      '-',
      '--namespace',
      'web',
    ]);
    const secret = parseYaml(r.stdout) as {
      kind: string;
      metadata: { name: string; namespace: string };
      data: Record<string, string>;
    };
    expect(secret.kind).toBe('Secret');
    expect(secret.metadata).toMatchObject({ name: 'consilio-prod', namespace: 'web' });
    const decoded = Object.fromEntries(
      Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    expect(decoded).toEqual(EXPECTED);

    const bin = join(h.home, 'bin');
    mkdirSync(bin);
    const log = join(h.home, 'kubectl.log');
    writeFileSync(
      join(bin, 'kubectl'),
      `#!/bin/sh\nprintf '%s\\n' "$*" > ${log}.argv\ncat > ${log}.stdin\nenv > ${log}.env\n`,
    );
    chmodSync(join(bin, 'kubectl'), 0o755);
    const applied = h.run(['export', '-p', 'consilio', '-e', 'prod', '-F', 'k8s', '--apply'], '', {
      PATH: `${bin}:${process.env.PATH}`,
      COFFER_BACKUP_PASSPHRASE: 'backup-pass-sentinel',
    });
    expect(applied.code, applied.stderr).toBe(0);
    // kubectl gets none of coffer's credentials.
    const kubeEnv = readFileSync(`${log}.env`, 'utf8');
    expect(kubeEnv).not.toContain('backup-pass-sentinel');
    expect(kubeEnv).not.toMatch(/^COFFER_(MASTER_KEY|PASSPHRASE|TOKEN|BACKUP_PASSPHRASE)=/m);
    expect(readFileSync(`${log}.argv`, 'utf8')).toBe('apply -f -\n');
    expect(readFileSync(`${log}.stdin`, 'utf8')).toBe(
      h.run(['export', '-p', 'consilio', '-e', 'prod', '-F', 'k8s', '-o', '-']).stdout,
    );
  });

  it('compose: values every Compose reads back unchanged; the snippet passes `docker compose config`', () => {
    const h = setup();
    // A value with a quote and a $ is read differently by Compose v1 and v2: refused by name.
    const quote = "sk_live_'quoted' $HOME value";
    expect(
      h.run(['set', 'project/mixed/api_key', '-d', DESCRIPTION, '--env', 'prod'], quote).code,
    ).toBe(0);
    const mixed = h.run(['export', '-p', 'mixed', '-e', 'prod', '-F', 'compose', '-o', 'x.env']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('the value of API_KEY holds a quote');
    expect(mixed.stderr).not.toContain('quoted');
    // A .env file has no form for it either that a shell or dotenvx would not expand.
    const dotenvFile = h.run([
      'export',
      '-p',
      'mixed',
      '-e',
      'prod',
      '-F',
      'dotenv',
      '-o',
      'y.env',
    ]);
    expect(dotenvFile.code).toBe(2);
    expect(dotenvFile.stderr).toContain('the value of API_KEY');
    expect(dotenvFile.stderr).not.toContain('quoted');
    const values = {
      QUOTED: "it's a value",
      DOLLARS: 'pa$$word $HOME "x" `y` #z  ',
      LINES: 'line one\nline "two" \\ end',
    };
    for (const [name, value] of Object.entries(values)) {
      const r = h.run(
        [
          'set',
          `project/compose/${name.toLowerCase()}`,
          '-d',
          DESCRIPTION,
          '--env',
          'prod',
          '--raw',
        ],
        value,
      );
      expect(r.code, r.stderr).toBe(0);
    }
    const r = h.run(['export', '-p', 'compose', '-e', 'prod', '-F', 'compose', '-o', 'app.env']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('env_file:');
    expect(r.stdout).toContain('./app.env');
    // docker compose (the v2 plugin), else docker-compose (v1, Debian's package): the
    // first that runs here checks the file; the test says when neither does.
    const v2 = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
    const v1 = !v2 && spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
    if (!v2 && !v1) {
      console.warn(
        'SKIPPED docker compose config: neither docker compose nor docker-compose is installed here',
      );
      return;
    }
    writeFileSync(
      join(h.home, 'docker-compose.yml'),
      r.stdout.replace('app:\n', 'app:\n    image: busybox\n'),
    );
    const c = v2
      ? spawnSync('docker', ['compose', 'config', '--format', 'json'], {
          cwd: h.home,
          encoding: 'utf8',
        })
      : spawnSync('docker-compose', ['config'], { cwd: h.home, encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
    const env = (
      (v2 ? JSON.parse(c.stdout) : parseYaml(c.stdout)) as {
        services: { app: { environment: object } };
      }
    ).services.app.environment;
    // v1 prints a compose file again, with a literal $ written as $$ (not interpolated).
    const read = v2
      ? env
      : Object.fromEntries(
          Object.entries(env).map(([k, v]) => [k, String(v).replaceAll('$$', '$')]),
        );
    expect(read).toEqual(values);
  });
});

describe('coffer export: names that make a program load code', () => {
  const EVIL = '--require /tmp/evil-Kx7.js';
  const OUT: Record<string, string[]> = {
    dotenv: ['-o', '.env.prod'],
    shell: ['-o', '-'],
    json: ['-o', 'prod.json'],
    compose: ['-o', 'app.env'],
    k8s: ['-o', '-'],
    'github-actions': [],
  };

  it('refused in every format (and --apply) before anything is written or run; --allow-env-name and allow_env_names allow it', () => {
    const h = setup();
    const set = h.run(
      ['set', 'project/consilio/node_options', '-d', 'Node runtime flags of the app', '-e', 'prod'],
      EVIL,
    );
    expect(set.code, set.stderr).toBe(0);
    // A project directory of its own, where a .coffer project file can go.
    const work = join(h.home, 'work');
    mkdirSync(work);
    const run = (args: string[], env: Record<string, string> = {}) =>
      runCoffer(args, { cwd: work, env: { ...h.env, ...env } });
    const bin = join(h.home, 'bin');
    mkdirSync(bin);
    const kubectlRan = join(work, 'kubectl.ran');
    writeFileSync(join(bin, 'kubectl'), `#!/bin/sh\ncat > ${kubectlRan}\n`);
    chmodSync(join(bin, 'kubectl'), 0o755);
    const withKubectl = { PATH: `${bin}:${process.env.PATH}` };
    const base = ['export', '-p', 'consilio', '-e', 'prod'];
    const runs = [
      ...Object.entries(OUT).map(([f, out]) => [...base, '-F', f, ...out]),
      [...base, '-F', 'k8s', '--apply'],
    ];
    for (const args of runs) {
      const r = run(args, withKubectl);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('refused to export the variable NODE_OPTIONS');
      expect(r.stderr).toContain('project/consilio/node_options');
      expect(r.stderr).toContain('--allow-env-name NODE_OPTIONS');
      expect(r.stdout).toBe('');
      expect(r.stdout + r.stderr).not.toContain('Kx7');
      expect(r.stdout + r.stderr).not.toContain('pw-8c1f2a');
    }
    for (const f of ['.env.prod', 'prod.json', 'app.env', 'kubectl.ran']) {
      expect(existsSync(join(work, f)), f).toBe(false);
    }
    // Each refusal is audited: one denied export record naming the variable, no value.
    const audit = run(['audit', '--json', '-n', '100']);
    const denied = auditRecords(audit).filter((x) => x.outcome === 'denied');
    expect(denied).toHaveLength(runs.length);
    for (const x of denied) {
      expect(x).toMatchObject({
        action: 'export',
        path: 'project/consilio/node_options',
        env: 'prod',
        detail: expect.stringMatching(/^ENV_NAME_REFUSED NODE_OPTIONS: /),
      });
    }
    expect(audit.stdout).not.toContain('Kx7');
    // --json reports the refusal as JSON, names only.
    const json = run([...base, '-F', 'dotenv', '-o', '.env.prod', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr).error.code).toBe('ENV_NAME_REFUSED');

    // The operator allows it on this machine: on the command line ...
    const allowed = run([
      ...base,
      '-F',
      'dotenv',
      '-o',
      '.env.prod',
      '--allow-env-name',
      'NODE_OPTIONS',
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(parseDotenv(readFileSync(join(work, '.env.prod')))).toEqual({
      ...EXPECTED,
      NODE_OPTIONS: EVIL,
    });
    // ... or in the project file, for the project it names only.
    writeFileSync(join(work, '.coffer'), 'project=other\nallow_env_names=NODE_OPTIONS\n');
    expect(run([...base, '-F', 'shell', '-o', '-']).code).toBe(2);
    writeFileSync(join(work, '.coffer'), 'project=consilio\nallow_env_names=NODE_OPTIONS\n');
    const file = run([...base, '-F', 'shell', '-o', '-']);
    expect(file.code, file.stderr).toBe(0);
    expect(file.stdout).toContain('NODE_OPTIONS=');
  });
});
