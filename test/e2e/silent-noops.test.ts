/**
 * Commands that used to do nothing, or something else, while reporting success (issue 14,
 * "Silent no-ops and silent changes"), through the built binary:
 * - `generate --store P -f F` with a different value in F: a conflict (exit 5), nothing changed;
 * - an empty value (empty pipe, </dev/null, an unset variable): refused (exit 2) unless
 *   --allow-empty, locally, through `coffer serve` and through `coffer mcp`;
 * - `run` and `env pull` with an unknown project or environment: exit 3, naming what exists;
 * - `env example` with a missing input: an error, nothing written;
 * - `env example` keeps plain settings (and names them), never a secret, and warns about a
 *   real secret in the file it replaces, never about a placeholder;
 * - `env import` with problems: nothing imported (or --continue-on-error).
 * No value ever appears in an error or a note.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { afterAll, describe, expect, it } from 'vitest';
import { SEED_004_ENV_EXAMPLE } from '../helpers/seed-004.js';
import { makeHome, STRIPE_DESCRIPTION } from './harness.js';
import { type McpSession, startMcp } from './mcp-harness.js';
import { type ServeProcess, startServe } from './serve-harness.js';

const KEY = 'project/consilio/connector_secret_key';
const KEY_DESCRIPTION = 'Fernet key that encrypts connector OAuth tokens at rest';

function vault() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const app = join(h.home, 'app');
  mkdirSync(app);
  return { ...h, app };
}

describe('generate --store with a .env file', () => {
  it('refuses (exit 5) when the vault and the file disagree, changing neither', () => {
    const h = vault();
    const file = join(h.app, '.env');
    const stored = 'vault-value-Kq83jdQ0aZ1mXbTy7wEr';
    const inFile = 'file-value-Pz91LmQw3eRt5yUi0oAs';
    expect(h.run(['set', KEY, '-d', KEY_DESCRIPTION], { input: stored }).code).toBe(0);
    const before = `# app\nCONNECTOR_SECRET_KEY=${inFile}\nPORT=8080\n`;
    writeFileSync(file, before);
    for (const json of [[], ['--json']]) {
      const r = h.run([
        'generate',
        'CONNECTOR_SECRET_KEY',
        '--store',
        KEY,
        '-d',
        KEY_DESCRIPTION,
        '-f',
        file,
        ...json,
      ]);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toContain(
        `CONNECTOR_SECRET_KEY differs between the vault (${KEY}, dev, version 1) and ${file}; nothing was changed`,
      );
      expect(r.stderr).not.toContain('skipped');
      expect(r.stdout + r.stderr).not.toContain(stored);
      expect(r.stdout + r.stderr).not.toContain(inFile);
    }
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(h.run(['get', KEY]).stdout).toBe(`${stored}\n`);
    expect(JSON.parse(h.run(['history', KEY, '--json']).stdout).versions).toHaveLength(1);

    // --force replaces both, with a warning.
    const forced = h.run([
      'generate',
      'CONNECTOR_SECRET_KEY',
      '--store',
      KEY,
      '-f',
      file,
      '--force',
      '--json',
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('replacing CONNECTOR_SECRET_KEY');
    const now = h.run(['get', KEY]).stdout.trimEnd();
    expect(now).not.toBe(stored);
    expect(dotenv.parse(readFileSync(file, 'utf8')).CONNECTOR_SECRET_KEY).toBe(now);
  });

  it('copies a value that exists on one side only, and says which way', () => {
    const h = vault();
    const file = join(h.app, '.env');
    const stored = 'vault-only-Vq83jdQ0aZ1mXbTy7wEr';
    expect(h.run(['set', KEY, '-d', KEY_DESCRIPTION], { input: stored }).code).toBe(0);
    writeFileSync(file, 'PORT=8080\n');
    const r = h.run(['generate', 'CONNECTOR_SECRET_KEY', '--store', KEY, '-f', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `kept CONNECTOR_SECRET_KEY from the vault (${KEY} (dev), version 1); wrote it to ${file}`,
    );
    expect(dotenv.parse(readFileSync(file, 'utf8')).CONNECTOR_SECRET_KEY).toBe(stored);
    // The same again: both sides agree, nothing changes.
    const again = h.run(['generate', 'CONNECTOR_SECRET_KEY', '--store', KEY, '-f', file, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      action: 'skipped',
      source: 'vault',
      changed: { stored: false, envFile: false },
    });

    const other = 'project/consilio/session_secret';
    const inFile = 'file-only-Pz91LmQw3eRt5yUi0oAs';
    writeFileSync(file, `SESSION_SECRET=${inFile}\n`);
    const fromFile = h.run([
      'generate',
      'SESSION_SECRET',
      '--store',
      other,
      '-d',
      'Session cookie signing secret of the web app',
      '-f',
      file,
    ]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stderr).toContain(`kept SESSION_SECRET from ${file}; stored it at ${other}`);
    expect(h.run(['get', other]).stdout).toBe(`${inFile}\n`);
  });

  it('refuses a deleted secret without --force (exit 3), as generate_secret does', async () => {
    const h = vault();
    expect(
      h.run(['set', KEY, '-d', KEY_DESCRIPTION], { input: 'old-Kq83jdQ0aZ1mXbTy7wEr' }).code,
    ).toBe(0);
    expect(h.run(['delete', KEY]).code).toBe(0);
    const r = h.run(['generate', 'CONNECTOR_SECRET_KEY', '--store', KEY]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${KEY} (dev) was deleted`);
    const mcp = await startMcp({ env: h.env, cwd: h.app, protocol: '2025-11-25' });
    try {
      const g = await mcp.call('generate_secret', { keyPath: KEY, description: KEY_DESCRIPTION });
      expect(g.isError).toBe(true);
      expect(g.content[0]?.text).toContain('was deleted');
    } finally {
      await mcp.close();
    }
    expect(h.run(['get', KEY]).code).toBe(3);
  });
});

describe('empty values', () => {
  const P = 'project/consilio/stripe_api_key';

  it('are refused (exit 2) from an empty pipe, </dev/null, an unset variable; --allow-empty stores one', () => {
    const h = vault();
    for (const input of ['', '\n']) {
      const r = h.run(['set', P, '-d', STRIPE_DESCRIPTION], { input });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`refused to store an empty value at ${P} (dev): stdin was empty`);
      expect(r.stderr).toContain('--allow-empty');
    }
    expect(h.run(['get', P]).code).toBe(3);
    // A working secret is not replaced by nothing (printf %s "$UNSET" | coffer set ...).
    expect(h.run(['set', P, '-d', STRIPE_DESCRIPTION], { input: 'sk_live_abc123xyz' }).code).toBe(
      0,
    );
    const unset = h.run(['set', P], { input: '' });
    expect(unset.code).toBe(2);
    expect(h.run(['get', P]).stdout).toBe('sk_live_abc123xyz\n');
    expect(h.run(['set', P, '--value', ''], { input: '' }).code).toBe(2);
    const allowed = h.run(['set', P, '--allow-empty', '--json'], { input: '' });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(JSON.parse(allowed.stdout).version).toBe(2);
    expect(h.run(['get', P]).stdout).toBe('\n');
  });

  describe('through coffer serve and coffer mcp', () => {
    const h = vault();
    let serve: ServeProcess | undefined;
    afterAll(async () => {
      await serve?.stop();
    });

    it('the HTTP API and remote mode refuse it alike', async () => {
      const created = h.run([
        'token',
        'create',
        '--name',
        'e2e',
        '--allow',
        'project/**',
        '--cap',
        'read,list,write',
        '--json',
      ]);
      expect(created.code, created.stderr).toBe(0);
      const { token } = JSON.parse(created.stdout) as { token: string };
      serve = await startServe(h.env);
      const put = await fetch(`${serve.url}/v1/secrets/${P}?env=dev`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ value: '', description: STRIPE_DESCRIPTION }),
      });
      expect(put.status).toBe(400);
      expect(((await put.json()) as { code: string }).code).toBe('EMPTY_VALUE');
      const remote = { ...h.env, COFFER_URL: serve.url, COFFER_TOKEN: token };
      const r = h.run(['set', P, '-d', STRIPE_DESCRIPTION], { input: '', env: remote });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('refused to store an empty value');
      const ok = h.run(['set', P, '-d', STRIPE_DESCRIPTION, '--allow-empty'], {
        input: '',
        env: remote,
      });
      expect(ok.code, ok.stderr).toBe(0);
    });

    it('MCP set_secret refuses it unless allowEmpty', async () => {
      let mcp: McpSession | undefined;
      try {
        mcp = await startMcp({ env: h.env, cwd: h.app, protocol: '2025-11-25' });
        const path = 'project/consilio/webhook_secret';
        const description = 'Stripe webhook signing secret for the billing service';
        const r = await mcp.call('set_secret', { keyPath: path, value: '', description });
        expect(r.isError).toBe(true);
        expect(r.content[0]?.text).toContain('refused to store an empty value');
        expect(h.run(['get', path]).code).toBe(3);
        const ok = await mcp.call('set_secret', {
          keyPath: path,
          value: '',
          description,
          allowEmpty: true,
        });
        expect(ok.isError).toBeFalsy();
      } finally {
        await mcp?.close();
      }
    });
  });
});

describe('run and env pull with an unknown project or environment', () => {
  function seeded() {
    const h = vault();
    for (const [path, env] of [
      ['project/consilio/stripe_api_key', 'dev'],
      ['project/consilio/stripe_api_key', 'prod'],
      ['project/agents/openai_api_key', 'dev'],
    ] as const) {
      const r = h.run(['set', path, '-d', 'Key for the payment and agent services', '--env', env], {
        input: 'sk_live_abc123xyz',
      });
      expect(r.code, r.stderr).toBe(0);
    }
    return h;
  }
  const child = (marker: string) => [
    process.execPath,
    '-e',
    `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`,
  ];

  it('run refuses (exit 3) and starts nothing, naming the projects and the closest', () => {
    const h = seeded();
    const marker = join(h.app, 'ran');
    const r = h.run(['run', '--project', 'consilo', '--', ...child(marker)]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no project consilo (in any environment); did you mean consilio?');
    expect(r.stderr).toContain('(projects: agents, consilio)');
    const e = h.run([
      'run',
      '--project',
      'consilio',
      '--env',
      'production',
      '--',
      ...child(marker),
    ]);
    expect(e.code).toBe(3);
    expect(e.stderr).toContain(
      'project consilio has no secrets in environment production; did you mean prod? (its environments: dev, prod)',
    );
    expect(existsSync(marker)).toBe(false);
    const ok = h.run(['run', '--project', 'consilio', '--env', 'prod', '--', ...child(marker)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it('env pull refuses (exit 3) and writes nothing', () => {
    const h = seeded();
    const file = join(h.app, '.env');
    const r = h.run(['env', 'pull', '--project', 'nosuch', '--file', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no project nosuch (in any environment)');
    const e = h.run(['env', 'pull', '--project', 'agents', '--env', 'prd', '--file', file]);
    expect(e.code).toBe(3);
    expect(e.stderr).toContain('project agents has no secrets in environment prd');
    expect(existsSync(file)).toBe(false);
    expect(h.run(['env', 'pull', '--project', 'agents', '--file', file]).code).toBe(0);
  });
});

describe('env example', () => {
  it('refuses a missing input and writes nothing', () => {
    const h = vault();
    const out = join(h.app, '.env.example');
    writeFileSync(
      join(h.app, '.env'),
      '# Stripe API key for payment processing\nSTRIPE_API_KEY=x\n',
    );
    writeFileSync(out, 'STRIPE_API_KEY=<Stripe API key>\n');
    const typo = h.run(['env', 'example', '-f', '.env.typo'], { cwd: h.app });
    expect(typo.code).toBe(3);
    expect(typo.stderr).toContain(
      '.env.typo does not exist; did you mean .env?; nothing was written',
    );
    expect(readFileSync(out, 'utf8')).toBe('STRIPE_API_KEY=<Stripe API key>\n');
    const other = join(h.home, 'empty');
    mkdirSync(other);
    const missing = h.run(['env', 'example'], { cwd: other });
    expect(missing.code).toBe(3);
    expect(existsSync(join(other, '.env.example'))).toBe(false);
    writeFileSync(join(other, '.env'), '# nothing here yet\n');
    const empty = h.run(['env', 'example'], { cwd: other });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('.env holds no variables; nothing was written');
    expect(existsSync(join(other, '.env.example'))).toBe(false);
  });

  it('keeps values that are clearly not secrets, names them, and never keeps a secret', () => {
    const h = vault();
    const secrets = {
      OPENAI_API_KEY: 'sk-proj-9fK2mQ8xLp3RtY7vWz1NbC4d',
      DATABASE_URL: 'postgres://app:s3cr3t-Pw9x@db.internal:5432/app',
      SLACK_WEBHOOK_URL:
        'https://hooks.slack.com/services/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',
      SESSION_SECRET: 'Zx8Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8L',
      ADMIN_PIN: '4821',
    };
    const plain = {
      OPENAI_BASE_URL: 'https://api.openai.com/v1',
      PORT: '8080',
      DEBUG: 'false',
      REDIS_HOST: 'cache.internal',
      NODE_ENV: 'production',
    };
    const text = Object.entries({ ...secrets, ...plain })
      .map(([k, v]) => `${k}=${v}\n`)
      .join('');
    writeFileSync(join(h.app, '.env'), text);
    const r = h.run(['env', 'example', '--json'], { cwd: h.app });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.kept).toEqual(Object.keys(plain));
    expect(out.placeholders).toEqual(Object.keys(secrets));
    const example = dotenv.parse(readFileSync(join(h.app, '.env.example'), 'utf8'));
    for (const [k, v] of Object.entries(plain)) expect(example[k]).toBe(v);
    for (const [k, v] of Object.entries(secrets)) {
      expect(example[k]).toMatch(/^<.*>$/);
      expect(r.stdout + r.stderr).not.toContain(v);
    }
    const human = h.run(['env', 'example'], { cwd: h.app });
    expect(human.stderr).toContain(
      `kept 5 values that are not secret: ${Object.keys(plain).join(', ')}`,
    );
    const none = h.run(['env', 'example', '--no-keep', '--json'], { cwd: h.app });
    expect(JSON.parse(none.stdout).kept).toEqual([]);
  });

  it("raises no alarm over seed 004's own .env.example, and never says both replaced and kept", () => {
    const h = vault();
    const out = join(h.app, '.env.example');
    writeFileSync(join(h.app, '.env'), SEED_004_ENV_EXAMPLE);
    writeFileSync(out, SEED_004_ENV_EXAMPLE);
    const r = h.run(['env', 'example'], { cwd: h.app });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('looks like a real secret');
    expect(r.stderr).toContain(
      'kept 2 values that are not secret: OPENAI_BASE_URL, S3_ENDPOINT_URL',
    );
    const example = dotenv.parse(readFileSync(out, 'utf8'));
    expect(example.OPENAI_BASE_URL).toBe('https://api.openai.com/v1');
    expect(example.DATABASE_URL).toMatch(/^<.*>$/);
    const json = h.run(['env', 'example', '--json'], { cwd: h.app });
    expect(JSON.parse(json.stdout).suspicious).toEqual([]);

    // Real values in the old file: each named once, saying what the new file holds.
    const real = {
      STRIPE_API_KEY: 'sk_live_4eC39HqLyjWDarjtT1zdp7dcQ9',
      REDIS_URL: 'redis://default:Zx8Qw2Er4Ty6Ui8Op@cache.internal:6379',
      OLD_TOKEN: 'Zx8Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8L',
    };
    writeFileSync(
      out,
      `${SEED_004_ENV_EXAMPLE}${Object.entries(real)
        .map(([k, v]) => `${k}=${v}\n`)
        .join('')}`,
    );
    writeFileSync(
      join(h.app, '.env'),
      'STRIPE_API_KEY=sk_live_other\nREDIS_URL=redis://cache.internal:6379\nPORT=8080\n',
    );
    const again = h.run(['env', 'example'], { cwd: h.app });
    expect(again.code, again.stderr).toBe(0);
    const warnings = again.stderr.split('\n').filter((l) => l.includes('looks like a real'));
    expect(warnings).toEqual([
      'coffer: warning: .env.example: STRIPE_API_KEY looks like a real secret; it is replaced by a placeholder now, but check git history',
      'coffer: warning: .env.example: REDIS_URL looks like a real secret; it holds the plain setting from .env now, but check git history',
      'coffer: warning: .env.example: OLD_TOKEN looks like a real secret; .env has no OLD_TOKEN, so it is gone now, but check git history',
    ]);
    expect(again.stderr).toContain('kept 2 values that are not secret: REDIS_URL, PORT');
    for (const v of Object.values(real)) expect(again.stdout + again.stderr).not.toContain(v);
  });

  it("never keeps the reviewers' secrets that read as a port, a host name or a URL", () => {
    const h = vault();
    writeFileSync(
      join(h.app, '.env'),
      'PORT=8080\nADMIN_PW=4821\nMYSQL_ROOT_PW=letmein.now\nKIOSK_UNLOCK=31337\nMQTT_PW=https://example.com/x\n',
    );
    const r = h.run(['env', 'example', '--json'], { cwd: h.app });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).kept).toEqual(['PORT']);
    const text = readFileSync(join(h.app, '.env.example'), 'utf8');
    for (const v of ['4821', 'letmein.now', '31337', 'example.com']) expect(text).not.toContain(v);
  });
});

describe('env import', () => {
  const file = (dir: string) => {
    const f = join(dir, '.env');
    writeFileSync(
      f,
      [
        '# Stripe API key for payment processing',
        'STRIPE_API_KEY=sk_live_abc123xyz',
        '# Database URL of the consilio web app',
        'DATABASE_URL=postgres://db/app',
        'NO_DESCRIPTION_1=value-one',
        'NO_DESCRIPTION_2=value-two',
        '# Sentry DSN of the web app, not set locally',
        'SENTRY_DSN=',
        '',
      ].join('\n'),
    );
    return f;
  };

  it('imports nothing when a variable fails its checks (exit 2), listing each problem', () => {
    const h = vault();
    const r = h.run(['env', 'import', file(h.app), '--project', 'consilio']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/failed +NO_DESCRIPTION_1 .*no description/);
    expect(r.stderr).toMatch(/failed +NO_DESCRIPTION_2 .*no description/);
    expect(r.stderr).toMatch(/not imported +STRIPE_API_KEY/);
    expect(r.stderr).toMatch(/skipped +SENTRY_DSN .*empty value/);
    expect(r.stderr).toContain('nothing imported: 2 of 5 variables failed their checks');
    expect(r.stderr).not.toContain('sk_live');
    expect(JSON.parse(h.run(['list', 'project/consilio', '--json']).stdout).items).toEqual([]);
  });

  it('--continue-on-error imports what passes (exit 1); with every description it imports all', () => {
    const h = vault();
    const f = file(h.app);
    const r = h.run(['env', 'import', f, '--project', 'consilio', '--continue-on-error', '--json']);
    expect(r.code).toBe(1);
    const outcomes = Object.fromEntries(
      (JSON.parse(r.stdout).results as { key: string; outcome: string }[]).map((x) => [
        x.key,
        x.outcome,
      ]),
    );
    expect(outcomes).toEqual({
      STRIPE_API_KEY: 'imported',
      DATABASE_URL: 'imported',
      NO_DESCRIPTION_1: 'failed',
      NO_DESCRIPTION_2: 'failed',
      SENTRY_DSN: 'skipped',
    });
    const h2 = vault();
    const all = h2.run([
      'env',
      'import',
      file(h2.app),
      '--project',
      'consilio',
      '-d',
      '{key} setting of the consilio web app',
    ]);
    expect(all.code, all.stderr).toBe(0);
    const listed = JSON.parse(h2.run(['list', 'project/consilio', '--json']).stdout).items as {
      path: string;
    }[];
    expect(listed.map((s) => s.path).sort()).toEqual([
      'project/consilio/database_url',
      'project/consilio/no_description_1',
      'project/consilio/no_description_2',
      'project/consilio/stripe_api_key',
    ]);
  });
});
