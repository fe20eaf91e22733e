/**
 * write_env: what dotenv reads back is what the vault holds; other lines stay; only dotenv
 * files inside the working directory, without symbolic links; names only in the answer.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dotenv from 'dotenv';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { envFileUnder } from '../../core/agents/env-file.js';
import { readAudit } from '../../core/audit/log.js';
import { dotenvValueEncodings } from '../../core/dotenv/format.js';
import { CofferError } from '../../core/errors.js';
import { localMcpBackend } from '../backend.js';
import { mcpPolicy } from '../policy.js';
import { toolError } from '../results.js';
import type { ToolContext } from './tool.js';
import { writeEnvTool } from './write-env-tool.js';

interface Written {
  file: string;
  written: string[];
  warnings: string[];
}

let tv: TestVault;
let cwd: string;
beforeAll(async () => {
  tv = await makeTestVault();
  cwd = mkdtempSync(join(tmpdir(), 'coffer-mcp-env-'));
});
afterAll(async () => {
  tv.vault.close();
  await tv.storage.close();
});

function ctx(allow: string[] = [], envs: string[] = []): ToolContext {
  return {
    vault: localMcpBackend(tv.vault, async () => {}).as('mcp:unit/1'),
    policy: mcpPolicy({ allow, envs, readOnly: false, reveal: 'never' }),
    defaultEnv: 'dev',
    cwd,
  };
}

const run = async (args: Parameters<typeof writeEnvTool.run>[0], c = ctx()) =>
  (await writeEnvTool.run(args, c)) as unknown as Written;

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof CofferError ? e.code : 'OTHER'),
  );
}

describe('write_env', () => {
  it('writes values dotenv reads back exactly, for any value (property)', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        // Values a .env file can hold safely (the others are refused: see the next test).
        fc.array(
          fc
            .string({ unit: 'grapheme', maxLength: 40 })
            .filter((v) => dotenvValueEncodings(v).length > 0),
          { minLength: 1, maxLength: 3 },
        ),
        async (values) => {
          round++;
          const project = `prop${round}`;
          for (const [i, value] of values.entries()) {
            await tv.vault.set(`project/${project}/key_${i}`, 'dev', value, {
              description: `Round trip key ${i} of the property`,
              allowEmpty: true,
            });
          }
          const file = `.env.${project}`;
          writeFileSync(join(cwd, file), '# kept comment\nOTHER=1\n');
          const out = await run({ project, file });
          expect(out.written.sort()).toEqual(values.map((_, i) => `KEY_${i}`).sort());
          const text = readFileSync(join(cwd, file), 'utf8');
          const parsed = dotenv.parse(text);
          values.forEach((v, i) => {
            expect(parsed[`KEY_${i}`]).toBe(v);
          });
          expect(parsed.OTHER).toBe('1');
          expect(text.startsWith('# kept comment\n')).toBe(true);
          const again = await run({ project, file });
          expect(again.written.sort()).toEqual(out.written);
          expect(Object.keys(again).sort()).toEqual([
            'env',
            'file',
            'project',
            'warnings',
            'written',
          ]);
          expect(readFileSync(join(cwd, file), 'utf8')).toBe(text);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses a value no .env form carries safely, by name, and leaves the file as it was', async () => {
    const value = "it's $(touch pwned)";
    await tv.vault.set('project/unsafe/token', 'dev', value, {
      description: 'A token a shell would run part of',
    });
    writeFileSync(join(cwd, '.env.unsafe'), 'OTHER=1\n');
    const err = await run({ project: 'unsafe', file: '.env.unsafe' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('INVALID_VALUE');
    expect((err as CofferError).message).toContain('TOKEN');
    expect((err as CofferError).message).not.toContain('pwned');
    expect(readFileSync(join(cwd, '.env.unsafe'), 'utf8')).toBe('OTHER=1\n');
  });

  it('refuses a .env past 16 MiB by name and limit, writing nothing beside it', async () => {
    await tv.vault.set('project/huge/api_key', 'dev', 'huge-value-0123', {
      description: 'API key of the huge app for its payment provider',
    });
    const dir = join(cwd, 'huge');
    mkdirSync(dir);
    const file = join(dir, '.env');
    writeFileSync(file, 'OTHER=1\n');
    truncateSync(file, 2 * 1024 * 1024 * 1024); // sparse: nothing is really written
    const err = await run({ project: 'huge', file: 'huge/.env' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).message).toContain('.env is larger than 16 MiB');
    expect((err as CofferError).message).not.toContain('huge-value');
    expect(statSync(file).size).toBe(2 * 1024 * 1024 * 1024);
    expect(readdirSync(dir)).toEqual(['.env']);
  });

  it('writes .env with mode 0600, names only, and honours keyPaths and the scope', async () => {
    await tv.vault.set('project/consilio/stripe_api_key', 'dev', 'sk_live_abc123xyz', {
      description: 'Stripe API key for payment processing',
    });
    await tv.vault.set('project/consilio/jwt_secret', 'dev', 'jwt-value-0123456789', {
      description: 'JWT signing secret for authentication',
      metadata: { envVar: 'AUTH_JWT_SECRET' },
    });
    const only = await run({ project: 'consilio', keyPaths: ['project/consilio/stripe_api_key'] });
    expect(only.written).toEqual(['STRIPE_API_KEY']);
    expect(only.file).toBe('.env');
    expect(statSync(join(cwd, '.env')).mode & 0o777).toBe(0o600);
    const scoped = await run({ project: 'consilio' }, ctx(['project/consilio/jwt_*']));
    expect(scoped.written).toEqual(['AUTH_JWT_SECRET']);
    expect(JSON.stringify([only, scoped])).not.toMatch(/sk_live|jwt-value/);
    expect(dotenv.parse(readFileSync(join(cwd, '.env')))).toEqual({
      STRIPE_API_KEY: 'sk_live_abc123xyz',
      AUTH_JWT_SECRET: 'jwt-value-0123456789',
    });
    expect(
      await codeOf(run({ project: 'consilio', keyPaths: ['project/other/stripe_api_key'] })),
    ).toBe('INVALID_ARGUMENT');
    await tv.vault.set('meta/cloudflare/api_token', 'dev', 'cf-token-9f8e7d6c5b4a', {
      description: 'Cloudflare API token for DNS updates',
    });
    const meta = await run({ project: 'consilio', keyPaths: ['meta/cloudflare/api_token'] });
    expect(meta.written).toEqual(['API_TOKEN']);
    expect(dotenv.parse(readFileSync(join(cwd, '.env'))).API_TOKEN).toBe('cf-token-9f8e7d6c5b4a');
    expect(
      await codeOf(
        run({ project: 'consilio', keyPaths: ['meta/cloudflare/api_token'] }, ctx(['project/**'])),
      ),
    ).toBe('FORBIDDEN');
    expect(await codeOf(run({ project: 'consilio', keyPaths: ['meta/cloudflare/nope'] }))).toBe(
      'SECRET_NOT_FOUND',
    );
    expect(await codeOf(run({ project: 'consilio', keyPaths: ['project/consilio/nope'] }))).toBe(
      'SECRET_NOT_FOUND',
    );
    expect(await codeOf(run({ project: 'other' }, ctx(['project/consilio/*'])))).toBe('FORBIDDEN');
    expect(
      await codeOf(
        run(
          { project: 'consilio', keyPaths: ['project/consilio/stripe_api_key'] },
          ctx(['project/consilio/jwt_*']),
        ),
      ),
    ).toBe('FORBIDDEN');
  });

  it('audits a write_env outside the working directory as a refusal', async () => {
    await tv.vault.set('project/audited/api_key', 'dev', 'value-0001', {
      description: 'API key of the audited project for tests',
    });
    expect(await codeOf(run({ project: 'audited', file: '../.env' }))).toBe('FORBIDDEN');
    const last = (await readAudit(tv.vault)).at(-1);
    expect(last).toMatchObject({ action: 'write_env', outcome: 'denied', path: 'project/audited' });
    expect(last?.detail).toContain('outside the working directory');
  });

  it('audits each name it refuses to write (a planted NODE_OPTIONS), never the value', async () => {
    const planted = '--require ./evil-Qv7.js';
    await tv.vault.set('project/planted/api_key', 'dev', 'sk-planted-Wd3', {
      description: 'API key of the planted project for tests',
    });
    await tv.vault.set('project/planted/node_options', 'dev', planted, {
      description: 'Node runtime flags of the planted project',
    });
    await tv.vault.set('project/planted/flags', 'dev', planted, {
      description: 'Shell flags of the planted project for tests',
      metadata: { envVar: 'BASH_ENV' },
    });
    const before = (await readAudit(tv.vault, { limit: 1 }))[0]!.seq;
    const file = '.env.planted';
    expect(await codeOf(run({ project: 'planted', file }))).toBe('ENV_NAME_REFUSED');
    expect(existsSync(join(cwd, file))).toBe(false);
    const records = (await readAudit(tv.vault)).filter((r) => r.seq > before);
    const denied = records.filter((r) => r.outcome === 'denied');
    expect(denied).toEqual([
      expect.objectContaining({
        action: 'write_env',
        path: 'project/planted/flags',
        env: 'dev',
        detail: expect.stringMatching(/^ENV_NAME_REFUSED BASH_ENV: /),
      }),
      expect.objectContaining({
        action: 'write_env',
        path: 'project/planted/node_options',
        env: 'dev',
        detail: expect.stringMatching(/^ENV_NAME_REFUSED NODE_OPTIONS: /),
      }),
    ]);
    // Nothing was read: the refusal comes before any value leaves the vault.
    expect(records.filter((r) => r.action === 'get')).toEqual([]);
    expect(JSON.stringify(records)).not.toContain('evil-Qv7');
    expect(JSON.stringify(records)).not.toContain('sk-planted');
  });

  it('a link swapped in while the values are read is refused at write time', async () => {
    await tv.vault.set('project/racy/api_key', 'dev', 'sk-race-value-1', {
      description: 'Payment provider API key for the checkout service',
    });
    const outside = mkdtempSync(join(tmpdir(), 'coffer-mcp-victim-'));
    const victim = join(outside, 'authorized_keys');
    writeFileSync(victim, 'ssh-ed25519 AAAA\n');
    const file = join(cwd, '.env.racy');
    writeFileSync(file, 'OTHER=1\n');
    const base = ctx();
    // The check passed; while the tool awaits the vault, the file becomes a link out.
    const vault = new Proxy(base.vault, {
      get(target, key) {
        const v = Reflect.get(target, key);
        if (key !== 'get' || typeof v !== 'function')
          return typeof v === 'function' ? v.bind(target) : v;
        return async (...args: unknown[]) => {
          rmSync(file, { force: true });
          symlinkSync(victim, file);
          return v.apply(target, args);
        };
      },
    });
    const before = (await readAudit(tv.vault, { limit: 1 }))[0]!.seq;
    const err = await run({ project: 'racy', file: '.env.racy' }, { ...base, vault }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).message).toContain('is a symbolic link');
    expect((err as CofferError).message).not.toContain('sk-race-value-1');
    expect(readFileSync(victim, 'utf8')).toBe('ssh-ed25519 AAAA\n');
    // Audited as the refusal it is, as the check before the read would have audited it.
    const denied = (await readAudit(tv.vault)).filter(
      (r) => r.seq > before && r.outcome === 'denied',
    );
    expect(denied).toEqual([
      expect.objectContaining({
        action: 'write_env',
        path: 'project/racy',
        env: 'dev',
        detail: `${file} is a symbolic link; coffer does not write secrets through one`,
      }),
    ]);
  });

  it('audits each refusal of the file as a denied write_env naming the file and why', async () => {
    await tv.vault.set('project/refusals/api_key', 'dev', 'sk-refused-Tb5', {
      description: 'API key of the refusals project for tests',
    });
    const dir = mkdtempSync(join(tmpdir(), 'coffer-mcp-refusals-'));
    const outside = mkdtempSync(join(tmpdir(), 'coffer-mcp-victim-'));
    writeFileSync(join(outside, 'authorized_keys'), 'ssh-ed25519 AAAA\n');
    // A cloned repository can ship `.env -> ~/.ssh/authorized_keys`.
    symlinkSync(join(outside, 'authorized_keys'), join(dir, '.env'));
    mkdirSync(join(dir, '.env.dir'));
    const c = { ...ctx(), cwd: dir };
    for (const [file, code, detail] of [
      ['.env', 'INVALID_ARGUMENT', '.env is not a regular file'],
      ['.env.dir', 'INVALID_ARGUMENT', '.env.dir is not a regular file'],
      ['.env.example', 'INVALID_ARGUMENT', '.env.example is a template meant to be committed'],
      ['config.json', 'INVALID_ARGUMENT', 'config.json is not a dotenv file'],
      ['../.env', 'FORBIDDEN', `../.env is outside the working directory ${dir}`],
    ] as const) {
      const before = (await readAudit(tv.vault, { limit: 1 }))[0]!.seq;
      expect(await codeOf(run({ project: 'refusals', file }, c)), file).toBe(code);
      const records = (await readAudit(tv.vault)).filter((r) => r.seq > before);
      expect(records, file).toEqual([
        expect.objectContaining({
          action: 'write_env',
          outcome: 'denied',
          path: 'project/refusals',
          env: 'dev',
          detail,
        }),
      ]);
      expect(JSON.stringify(records)).not.toContain('sk-refused');
    }
    expect(readFileSync(join(outside, 'authorized_keys'), 'utf8')).toBe('ssh-ed25519 AAAA\n');
  });

  it('a path the system cannot reach is a clear IO_ERROR naming the file, not INTERNAL', async () => {
    await tv.vault.set('project/unreachable/api_key', 'dev', 'sk-unreach-Hn4', {
      description: 'API key of the unreachable project for tests',
    });
    const dir = mkdtempSync(join(tmpdir(), 'coffer-mcp-unreachable-'));
    writeFileSync(join(dir, 'plain'), 'x');
    const long = `.env.${'a'.repeat(300)}`;
    const before = (await readAudit(tv.vault, { limit: 1 }))[0]!.seq;
    for (const [file, message] of [
      ['plain/.env', 'cannot use plain/.env: a part of the path is not a directory (ENOTDIR)'],
      [long, `cannot use ${long.slice(0, 200)}...: the name is too long (ENAMETOOLONG)`],
    ]) {
      const err = await run({ project: 'unreachable', file }, { ...ctx(), cwd: dir }).catch(
        (e: unknown) => e,
      );
      expect(toolError(err)).toMatchObject({ code: 'IO_ERROR', message });
      expect(JSON.stringify(toolError(err))).not.toContain('sk-unreach');
    }
    // The system failing is no decision of coffer's: nothing denied to audit.
    const records = (await readAudit(tv.vault)).filter((r) => r.seq > before);
    expect(records.filter((r) => r.outcome === 'denied')).toEqual([]);
  });

  it('refuses files outside the working directory, non-dotenv names and symbolic links', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'coffer-mcp-outside-'));
    symlinkSync(outside, join(cwd, 'linked'));
    symlinkSync(join(outside, 'x.env'), join(cwd, '.env.link'));
    mkdirSync(join(cwd, 'config'), { recursive: true });
    const refused = (file: string) => {
      try {
        envFileUnder(cwd, file);
        return undefined;
      } catch (e) {
        return (e as CofferError).code;
      }
    };
    expect(refused('../.env')).toBe('FORBIDDEN');
    expect(refused(join(outside, '.env'))).toBe('FORBIDDEN');
    expect(refused('linked/.env')).toBe('FORBIDDEN');
    expect(refused('.env.link')).toBe('INVALID_ARGUMENT');
    // Names agent setup does not keep the agent from reading, and committed templates.
    for (const name of [
      'app.env',
      'config/prod.env',
      '.env.example',
      'config/.env.Sample',
      '.env.template',
      '.env.dist',
    ])
      expect(refused(name), name).toBe('INVALID_ARGUMENT');
    expect(refused('package.json')).toBe('INVALID_ARGUMENT');
    expect(refused('.')).toBe('FORBIDDEN');
    expect(refused('config')).toBe('INVALID_ARGUMENT');
    for (const ok of ['.env', '.env.local', 'config/.env.production', 'new/dir/.env']) {
      expect(refused(ok)).toBeUndefined();
    }
    expect(envFileUnder(cwd, './config/../.env').rel).toBe('.env');
  });

  it('answers a file name holding NUL with a usage error, not an internal one (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), async (a, b) => {
        const file = `${a}\0${b}.env`;
        expect(await codeOf(run({ project: 'consilio', file }))).toBe('INVALID_ARGUMENT');
      }),
      { numRuns: 50 },
    );
  });

  it('warns when the file is not ignored by git', async () => {
    const { spawnSync } = await import('node:child_process');
    const git = spawnSync('git', ['init', '-q', cwd]);
    if (git.status !== 0) return; // no git on this machine: nothing to check
    const out = await run({ project: 'consilio' });
    expect(out.warnings).toEqual([
      '.env is not ignored by git: add it to .gitignore so its secrets are never committed',
    ]);
    writeFileSync(join(cwd, '.gitignore'), '.env\n');
    expect((await run({ project: 'consilio' })).warnings).toEqual([]);
  });

  it('refuses an unknown project or environment as env pull does, naming what the policy lets it see', async () => {
    const file = '.env.unknown';
    const none = writeEnvTool.run({ project: 'consilo', file }, ctx());
    await expect(none).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
    await expect(writeEnvTool.run({ project: 'consilo', file }, ctx())).rejects.toThrow(
      /did you mean consilio\?/,
    );
    const env = writeEnvTool.run({ project: 'consilio', env: 'production', file }, ctx());
    await expect(env).rejects.toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND' });
    // The hint names the tool's argument, not the CLI's --env.
    const envError = await writeEnvTool
      .run({ project: 'consilio', env: 'production', file }, ctx())
      .catch((x: unknown) => x);
    expect(toolError(envError).hint).toBe('Call again with env set to one of: dev.');
    const typo = await writeEnvTool
      .run({ project: 'consilio', env: 'dve', file }, ctx())
      .catch((x: unknown) => x);
    expect(toolError(typo).hint).toBe('Call again with env: "dev".');
    const projectError = await writeEnvTool
      .run({ project: 'consilo', file }, ctx())
      .catch((x: unknown) => x);
    expect(toolError(projectError).hint).toBe('Call again with project: "consilio".');
    // A server allowed only project/other/* names no project it may not read.
    const narrow = writeEnvTool.run({ project: 'other', file }, ctx(['project/other/*']));
    await expect(narrow).rejects.toThrow(/there are no project secrets yet/);
    expect(existsSync(join(cwd, file))).toBe(false);
  });
});
