/**
 * .env files, `coffer run` and `coffer generate` through the built binary.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import { BIN, finished, makeHome, STRIPE_DESCRIPTION } from './harness.js';

const mode = (p: string) => statSync(p).mode & 0o777;

function project() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const app = join(h.home, 'app');
  mkdirSync(app);
  const secrets: Record<string, string> = {
    stripe_api_key: 'sk_live_abc123xyz',
    database_url: 'postgres://user:p@ss#word@db/app',
    multi_line: 'line one\nline "two" $HOME \\n',
  };
  for (const [name, value] of Object.entries(secrets)) {
    const r = h.run(
      [
        'set',
        `project/consilio/${name}`,
        '-d',
        `Consilio ${name.replace(/_/g, ' ')} for the web app`,
      ],
      { input: value },
    );
    expect(r.code, r.stderr).toBe(0);
  }
  return { h, app, secrets };
}

describe('coffer env pull', () => {
  it('writes only the managed variables, keeps comments and unrelated lines, mode 0600', () => {
    const { h, app, secrets } = project();
    const file = join(app, '.env');
    const before =
      '# app settings\nPORT=8080   # inline comment\nSTRIPE_API_KEY=old-value\n\n# trailing comment\n';
    writeFileSync(file, before, { mode: 0o644 });
    const r = h.run(['env', 'pull', '--project', 'consilio', '--file', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).changes).toEqual([
      { name: 'DATABASE_URL', action: 'add' },
      { name: 'MULTI_LINE', action: 'add' },
      { name: 'STRIPE_API_KEY', action: 'update' },
    ]);
    expect(r.stdout).not.toContain('sk_live');
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('# app settings\nPORT=8080   # inline comment\nSTRIPE_API_KEY=')).toBe(
      true,
    );
    expect(text).toContain('\n\n# trailing comment\n');
    expect(dotenv.parse(text)).toEqual({
      PORT: '8080',
      STRIPE_API_KEY: secrets.stripe_api_key,
      DATABASE_URL: secrets.database_url,
      MULTI_LINE: secrets.multi_line,
    });
    expect(mode(file)).toBe(0o600);
    const check = h.run(['env', 'pull', '--project', 'consilio', '--file', file, '--check']);
    expect(check.code).toBe(0);
    expect(
      h.run(['set', 'project/consilio/stripe_api_key'], { input: 'sk_live_rotated' }).code,
    ).toBe(0);
    const stale = h.run(['env', 'pull', '--project', 'consilio', '--file', file, '--check']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('would update STRIPE_API_KEY');
    expect(stale.stderr).not.toContain('sk_live');
  });

  it('is never partial when killed during the write', async () => {
    const { h, app, secrets } = project();
    const file = join(app, '.env');
    writeFileSync(file, 'KEEP=1\n');
    const oldMap = { KEEP: '1' };
    const newMap: Record<string, string | undefined> = {
      KEEP: '1',
      STRIPE_API_KEY: secrets.stripe_api_key,
      DATABASE_URL: secrets.database_url,
      MULTI_LINE: secrets.multi_line,
    };
    for (let i = 0; i < 15; i++) {
      writeFileSync(file, 'KEEP=1\n');
      const child = spawn(
        process.execPath,
        [BIN, 'env', 'pull', '--project', 'consilio', '--file', file],
        { env: h.env },
      );
      const done = finished(child);
      await new Promise((r) => setTimeout(r, 40 + Math.random() * 80));
      child.kill('SIGKILL');
      await done;
      const parsed = dotenv.parse(readFileSync(file, 'utf8'));
      const same = (a: Record<string, string | undefined>, b: Record<string, string | undefined>) =>
        JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
      expect(same(parsed, oldMap) || same(parsed, newMap)).toBe(true);
    }
    // No temp files are left behind by completed writes, only possibly by killed ones.
    expect(readdirSync(app).filter((f) => !f.startsWith('.env')).length).toBe(0);
  });
});

describe('coffer set --dotenv', () => {
  it('stores first and writes the .env second', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const file = join(h.home, '.env');
    writeFileSync(file, '# keep me\nOTHER=x\n');
    const r = h.run(
      ['set', 'project/consilio/stripe_api_key', '-d', STRIPE_DESCRIPTION, '--dotenv', file],
      { input: 'sk_live_abc' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(dotenv.parse(readFileSync(file))).toEqual({ OTHER: 'x', STRIPE_API_KEY: 'sk_live_abc' });
    expect(readFileSync(file, 'utf8').startsWith('# keep me\nOTHER=x\n')).toBe(true);
    const named = h.run(
      ['set', 'project/consilio/stripe_api_key', '--dotenv', file, '--env-var', 'STRIPE_SECRET'],
      { input: 'sk_live_2' },
    );
    expect(named.code).toBe(0);
    expect(dotenv.parse(readFileSync(file)).STRIPE_SECRET).toBe('sk_live_2');
  });

  it('leaves the .env byte-identical when the vault write fails', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const file = join(h.home, '.env');
    const before = Buffer.from('# untouched\nA=1\r\nB="two"\n');
    writeFileSync(file, before);
    const wrongKey = { COFFER_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') };
    const r1 = h.run(
      ['set', 'project/consilio/stripe_api_key', '-d', STRIPE_DESCRIPTION, '--dotenv', file],
      { input: 'v', env: wrongKey },
    );
    expect(r1.code).toBe(4);
    const r2 = h.run(
      ['set', 'project/consilio/stripe_api_key', '-d', 'API key', '--dotenv', file],
      { input: 'v' },
    );
    expect(r2.code).toBe(2);
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});

describe('coffer run', () => {
  const printEnv =
    'process.stdout.write(JSON.stringify({s: process.env.STRIPE_API_KEY, d: process.env.DATABASE_URL, m: process.env.MULTI_LINE, argv: process.argv.slice(1)}))';

  it('injects secrets, writes nothing, keeps values out of argv, exits with the child code', () => {
    const { h, app, secrets } = project();
    writeFileSync(join(app, '.coffer'), 'project=consilio\n');
    const before = readdirSync(app);
    const r = spawnSync(
      process.execPath,
      [BIN, 'run', '--no-mask', '--', process.execPath, '-e', printEnv],
      {
        cwd: app,
        env: h.env,
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      s: secrets.stripe_api_key,
      d: secrets.database_url,
      m: secrets.multi_line,
    });
    expect(JSON.stringify(out.argv)).not.toContain('sk_live');
    expect(readdirSync(app)).toEqual(before);
    const code = spawnSync(
      process.execPath,
      [BIN, 'run', '--project', 'consilio', '--', process.execPath, '-e', 'process.exit(7)'],
      { env: h.env },
    );
    expect(code.status).toBe(7);
    const missing = spawnSync(
      process.execPath,
      [BIN, 'run', '--project', 'consilio', '--', 'no-such-command-xyz'],
      { env: h.env, encoding: 'utf8' },
    );
    expect(missing.status).toBe(127);
  });

  it('--mask replaces values in stdout and stderr, also when split across writes', () => {
    const { h } = project();
    const script =
      "const v = process.env.STRIPE_API_KEY; process.stdout.write('key=' + v.slice(0, 5)); setTimeout(() => { process.stdout.write(v.slice(5) + ' ok\\n'); console.error('err ' + v); }, 50)";
    const r = spawnSync(
      process.execPath,
      [BIN, 'run', '-p', 'consilio', '--mask', '--', process.execPath, '-e', script],
      { env: h.env, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('key=[REDACTED] ok\n');
    expect(r.stderr).toBe('err [REDACTED]\n');
    const plain = spawnSync(
      process.execPath,
      [BIN, 'run', '--no-mask', '-p', 'consilio', '--', process.execPath, '-e', script],
      { env: h.env, encoding: 'utf8' },
    );
    expect(plain.stdout).toBe('key=sk_live_abc123xyz ok\n');
  });

  it('existing variables win unless --override', () => {
    const { h } = project();
    const env = { ...h.env, STRIPE_API_KEY: 'from-shell' };
    const plain = spawnSync(
      process.execPath,
      [BIN, 'run', '--no-mask', '-p', 'consilio', '--', process.execPath, '-e', printEnv],
      { env, encoding: 'utf8' },
    );
    expect(JSON.parse(plain.stdout).s).toBe('from-shell');
    const over = spawnSync(
      process.execPath,
      [
        BIN,
        'run',
        '--no-mask',
        '-p',
        'consilio',
        '--override',
        '--',
        process.execPath,
        '-e',
        printEnv,
      ],
      { env, encoding: 'utf8' },
    );
    expect(JSON.parse(over.stdout).s).toBe('sk_live_abc123xyz');
  });

  /** `coffer run` of a Node program that prints `ready` once its handlers are set: the
   * child once it is ready, and its end. In a session of its own (no terminal), so that a
   * suite run from a terminal's foreground still has coffer pass SIGINT on. */
  async function readyRun(h: { env: Record<string, string | undefined> }, script: string) {
    const child = spawn(
      process.execPath,
      [BIN, 'run', '-p', 'consilio', '--', process.execPath, '-e', script],
      { env: h.env, detached: true },
    );
    const done = finished(child);
    await new Promise<void>((resolve) =>
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
    );
    return { child, done };
  }

  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'] as const) {
    it(`forwards ${sig}, and ends by it as the program did`, async () => {
      const { h } = project();
      const { child, done } = await readyRun(
        h,
        "console.log('ready'); setInterval(() => {}, 1000)",
      );
      child.kill(sig);
      const r = await done;
      // As a shell sees a program killed by a signal: a loop around `coffer run` stops.
      expect(r.signal).toBe(sig);
      expect(r.code).toBeNull();
    });
  }

  it('passes SIGQUIT and SIGUSR1 on to a program that handles them (no debugger in coffer)', async () => {
    const { h } = project();
    const script =
      "const got = []; for (const s of ['SIGQUIT', 'SIGUSR1']) process.on(s, () => { got.push(s); if (got.length === 2) { console.log('got ' + got.join(',')); process.exit(0); } }); console.log('ready'); setInterval(() => {}, 1000)";
    const { child, done } = await readyRun(h, script);
    child.kill('SIGQUIT');
    child.kill('SIGUSR1');
    const r = await done;
    expect(r.stdout).toContain('got SIGQUIT,SIGUSR1');
    expect(r.code).toBe(0);
  });

  it('a file that is there but cannot be run: exit 126, as a shell', () => {
    const { h } = project();
    const plain = join(h.home, 'not-executable.sh');
    writeFileSync(plain, '#!/bin/sh\necho hi\n');
    const noInterpreter = join(h.home, 'bad-interpreter.sh');
    writeFileSync(noInterpreter, '#!/no/such/interpreter\necho hi\n', { mode: 0o755 });
    for (const [file, said] of [
      [plain, 'permission denied'],
      [noInterpreter, 'interpreter'],
    ] as const) {
      const r = spawnSync(process.execPath, [BIN, 'run', '-p', 'consilio', '--', file], {
        env: h.env,
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(126);
      expect(r.stderr).toContain(said);
    }
  });

  it('--passphrase-stdin: the program gets exactly the bytes after the passphrase line', () => {
    const h = makeHome();
    const pass = 'a passphrase of the run test, long enough';
    const withPass = { env: { COFFER_PASSPHRASE: pass } };
    expect(h.run(['init', '--passphrase', '--kdf-log-n', '14'], withPass).code).toBe(0);
    const set = h.run(['set', 'project/consilio/stripe_api_key', '-d', STRIPE_DESCRIPTION], {
      ...withPass,
      input: 'sk_live_abc123xyz',
    });
    expect(set.code, set.stderr).toBe(0);
    // Any bytes, not only text, and more than one line, as a program's own input can be.
    const rest = Buffer.concat([
      Buffer.from('rest of input\nline two '),
      Buffer.from([0xff, 0x00, 0x0d, 0x0a]),
      Buffer.from('last line, no line break'),
    ]);
    const args = [
      BIN,
      '--passphrase-stdin',
      'run',
      '--no-mask',
      '-p',
      'consilio',
      '--',
      process.execPath,
      '-e',
      'process.stdout.write(process.env.STRIPE_API_KEY + "|"); process.stdin.pipe(process.stdout)',
    ];
    const expected = Buffer.concat([Buffer.from('sk_live_abc123xyz|'), rest]);
    // From a pipe ...
    const piped = spawnSync(process.execPath, args, {
      env: h.env,
      input: Buffer.concat([Buffer.from(`${pass}\n`), rest]),
    });
    expect(piped.status, piped.stderr.toString()).toBe(0);
    expect(piped.stdout.toString('hex')).toBe(expected.toString('hex'));
    // ... and from a file (its offset is shared with the child), the line ended by \r\n.
    const file = join(h.home, 'stdin');
    writeFileSync(file, Buffer.concat([Buffer.from(`${pass}\r\n`), rest]));
    const fd = openSync(file, 'r');
    try {
      const fromFile = spawnSync(process.execPath, args, {
        env: h.env,
        stdio: [fd, 'pipe', 'pipe'],
      });
      expect(fromFile.status, fromFile.stderr.toString()).toBe(0);
      expect(fromFile.stdout.toString('hex')).toBe(expected.toString('hex'));
    } finally {
      closeSync(fd);
    }
  });

  it('a child that handles the signal decides its own exit code', async () => {
    const { h } = project();
    const script =
      "process.on('SIGTERM', () => { console.log('cleaned up'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000)";
    const { child, done } = await readyRun(h, script);
    child.kill('SIGTERM');
    const r = await done;
    expect(r.stdout).toContain('cleaned up');
    expect(r.code).toBe(0);
  });
  it('a project too large for one environment is refused with a clear error naming the limit, never a value', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    // 48 values of 60 KB: about 2.9 MB, past Linux's limit on a program's arguments and
    // environment together (a quarter of the stack limit, 2 MB by default).
    const values = Array.from(
      { length: 48 },
      (_, i) => `${'v'.repeat(59_990)}${String(i).padStart(10, '0')}`,
    );
    const file = join(h.home, 'big.env');
    writeFileSync(file, values.map((v, i) => `PAYLOAD_${i}=${v}\n`).join(''));
    const imported = h.run([
      'env',
      'import',
      file,
      '--project',
      'big',
      '-d',
      'Test payload {key} of the big batch service',
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    const r = h.run(['run', '--no-mask', '--project', 'big', '--', process.execPath, '-e', '0']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('E2BIG');
    expect(r.stderr).toContain('48 variables');
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).not.toContain('vvvvvvvv');
  });
});

describe('coffer generate', () => {
  it('is idempotent on a .env file and --force replaces with a warning', () => {
    const h = makeHome();
    const file = join(h.home, '.env');
    const first = h.run(['generate', 'CONNECTOR_SECRET_KEY', '-f', file]);
    expect(first.code, first.stderr).toBe(0);
    const v1 = dotenv.parse(readFileSync(file)).CONNECTOR_SECRET_KEY!;
    expect(Buffer.from(v1, 'base64')).toHaveLength(32);
    expect(first.stdout + first.stderr).not.toContain(v1);
    const again = h.run(['generate', 'CONNECTOR_SECRET_KEY', '--dotenv', file]);
    expect(again.stderr).toContain('skipped');
    expect(dotenv.parse(readFileSync(file)).CONNECTOR_SECRET_KEY).toBe(v1);
    const forced = h.run(['generate', 'CONNECTOR_SECRET_KEY', '--dotenv', file, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('unreadable');
    expect(dotenv.parse(readFileSync(file)).CONNECTOR_SECRET_KEY).not.toBe(v1);
    expect(mode(file)).toBe(0o600);
  });

  it('stores first, then writes the .env, and refuses short keys unless forced', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const file = join(h.home, '.env');
    const r = h.run([
      'generate',
      'JWT_SECRET',
      '--kind',
      'jwt',
      '--store',
      'project/myproject/jwt_secret',
      '-d',
      'JWT signing secret for authentication',
      '--file',
      file,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      action: 'generated',
      stored: 'project/myproject/jwt_secret',
    });
    const fromVault = h.run(['get', 'project/myproject/jwt_secret']).stdout.trim();
    expect(dotenv.parse(readFileSync(file)).JWT_SECRET).toBe(fromVault);
    expect(h.run(['generate', 'X', '--kind', 'hex', '--bytes', '4']).code).toBe(2);
    expect(
      h.run(['generate', 'X', '--kind', 'hex', '--bytes', '4', '--allow-weak']).stdout.trim(),
    ).toMatch(/^[0-9a-f]{8}$/);
  });

  it('makes Fernet keys and passwords', () => {
    const h = makeHome();
    const fernet = h.run(['generate', 'ENCRYPTION_KEY', '--kind', 'fernet']).stdout.trim();
    expect(Buffer.from(fernet, 'base64url')).toHaveLength(32);
    const pw = h
      .run(['generate', 'ADMIN_PASSWORD', '--kind', 'password', '--length', '30'])
      .stdout.trim();
    expect(pw).toHaveLength(30);
  });
});

describe('coffer env parse / format / import / example', () => {
  it('parse and format round-trip through dotenv', () => {
    const h = makeHome();
    const map = { A: 'plain', B: 'has # hash', C: 'multi\nline', D: "quote ' mix", E: '' };
    const text = h.run(['env', 'format', '--json'], { input: JSON.stringify(map) });
    expect(text.code, text.stderr).toBe(0);
    expect(dotenv.parse(text.stdout)).toEqual(map);
    const parsed = h.run(['env', 'parse', '-'], { input: text.stdout });
    expect(JSON.parse(parsed.stdout)).toEqual(map);
    expect(h.run(['env', 'format', '--json'], { input: '[1]' }).code).toBe(2);
  });

  it('imports a .env with descriptions from comments, skips existing ones, reports by name', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const file = join(h.home, '.env');
    writeFileSync(
      file,
      '# Stripe API key for payment processing\nSTRIPE_API_KEY=sk_live_imported\nPORT=8080 # web server port\nNO_DOC=value\n',
    );
    const dry = h.run(['env', 'import', file, '--project', 'consilio', '--dry-run', '--json']);
    // As the import itself would answer: refused (2) while a variable fails its checks.
    expect(dry.code).toBe(2);
    expect(h.run(['env', 'import', file, '--project', 'consilio']).code).toBe(2);
    const results = JSON.parse(dry.stdout).results;
    expect(results.map((r: { outcome: string }) => r.outcome)).toEqual([
      'would import',
      'failed',
      'failed',
    ]);
    expect(h.run(['list', '--json']).stdout).not.toContain('stripe');
    const real = h.run([
      'env',
      'import',
      file,
      '--project',
      'consilio',
      '-d',
      '{key} setting of the consilio web app',
      '--json',
    ]);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout + real.stderr).not.toContain('sk_live_imported');
    expect(h.run(['get', 'project/consilio/stripe_api_key']).stdout).toBe('sk_live_imported\n');
    const info = JSON.parse(
      h.run(['describe', 'project/consilio/stripe_api_key', '--json']).stdout,
    );
    expect(info.description).toBe('Stripe API key for payment processing');
    const again = JSON.parse(
      h.run([
        'env',
        'import',
        file,
        '--project',
        'consilio',
        '-d',
        '{key} setting of the consilio web app',
        '--json',
      ]).stdout,
    );
    expect(again.results.every((r: { outcome: string }) => r.outcome === 'skipped')).toBe(true);

    // A dotenv key that is no variable name fails its own check, in the dry run too.
    const dotted = join(h.home, 'dotted.env');
    writeFileSync(
      dotted,
      '# Mail password of the app\nMAIL.PASSWORD=pw-1\n# Port of the app\nPORT=80\n',
    );
    for (const extra of [['--dry-run'], []]) {
      const r = h.run(['env', 'import', dotted, '--project', 'mail', '--json', ...extra]);
      const out = JSON.parse(r.stdout).results as {
        key: string;
        outcome: string;
        reason?: string;
      }[];
      expect(out.find((x) => x.key === 'MAIL.PASSWORD')).toMatchObject({ outcome: 'failed' });
      expect(out.find((x) => x.key === 'MAIL.PASSWORD')?.reason).toContain(
        'not a valid environment variable name',
      );
      expect(r.code).toBe(2); // a dry run answers as the import would: refused
    }
    expect(h.run(['get', 'project/mail/port']).code).not.toBe(0);
  });

  it('writes .env.example with placeholders, keeps plain settings, and warns about real secrets in it', () => {
    const h = makeHome();
    const dir = join(h.home, 'p');
    mkdirSync(dir);
    writeFileSync(
      join(dir, '.env'),
      '# Stripe API key for payment processing\nSTRIPE_API_KEY=sk_live_abc123xyz987\n# web\nPORT=8080\n',
    );
    writeFileSync(join(dir, '.env.example'), 'STRIPE_API_KEY=sk_live_realkeyleaked12345\n');
    const r = spawnSync(process.execPath, [BIN, 'env', 'example'], {
      cwd: dir,
      env: h.env,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('STRIPE_API_KEY looks like a real secret');
    const example = readFileSync(join(dir, '.env.example'), 'utf8');
    expect(example).not.toContain('sk_live');
    expect(example).toContain('# Stripe API key for payment processing\n');
    // A port is not a secret: it is kept as it is (and named on stderr).
    expect(dotenv.parse(example)).toEqual({
      STRIPE_API_KEY: '<Stripe API key for payment processing>',
      PORT: '8080',
    });
    expect(r.stderr).toContain('kept 1 value that is not secret: PORT');
  });
});
