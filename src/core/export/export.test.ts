import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDotenv } from '../dotenv/parse.js';
import { CofferError } from '../errors.js';
import { type ExportVariable, formatExport, githubActionsEnv, k8sName } from './formats.js';
import { selectExport } from './select.js';

const NAME = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,20}$/).filter((n) => !n.startsWith('GITHUB_'));
/** Values dotenv can carry (no CR; see dotenv/format.ts) with a marker to search for. */
const VALUE = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
  .filter((v) => !v.includes('\r') && !v.includes('\0'))
  .map((v) => `s3cr3t-${v}`);
const VARS = fc.uniqueArray(fc.record({ name: NAME, value: VALUE }), {
  selector: (v) => v.name,
  maxLength: 6,
});

const o = { project: 'consilio', env: 'prod' };
const asVars = (xs: { name: string; value: string }[]): ExportVariable[] =>
  xs.map((x) => ({ ...x, path: `project/consilio/${x.name.toLowerCase()}` }));

describe('export formats', () => {
  it('dotenv, json, k8s and shell carry every value exactly; github-actions none', () => {
    fc.assert(
      fc.property(VARS, (xs) => {
        const vars = asVars(xs);
        const want = Object.fromEntries(xs.map((x) => [x.name, x.value]));
        let dotenv: string | undefined;
        try {
          dotenv = formatExport('dotenv', vars, o);
        } catch {
          // A value no dotenv quoting carries is refused by name (dotenv/format.ts).
        }
        if (dotenv !== undefined) expect(parseDotenv(dotenv)).toEqual(want);
        expect(JSON.parse(formatExport('json', vars, o))).toEqual(want);
        const secret = parseYaml(formatExport('k8s', vars, o)) as {
          apiVersion: string;
          kind: string;
          type: string;
          metadata: { name: string };
          data: Record<string, string>;
        };
        expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque' });
        expect(secret.metadata.name).toBe('consilio-prod');
        const decoded = Object.fromEntries(
          Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
        );
        expect(decoded).toEqual(want);
        const gha = formatExport('github-actions', vars, o);
        for (const x of xs) {
          expect(gha).not.toContain(x.value);
          expect(gha).toContain(`${x.name}: \${{ secrets.${x.name} }}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('shell lines set each variable to its exact value in sh', () => {
    fc.assert(
      fc.property(VARS, (xs) => {
        const script = `${formatExport('shell', asVars(xs), o)}env -0`;
        const out = execFileSync('sh', ['-c', script], { env: {} }).toString('utf8');
        const env = Object.fromEntries(
          out
            .split('\0')
            .filter((l) => l.includes('='))
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
        for (const x of xs) expect(env[x.name]).toBe(x.value);
      }),
      { numRuns: 25 },
    );
  });

  it('names a Kubernetes Secret validly and refuses names a target cannot take', () => {
    expect(k8sName('My_App', 'prod')).toBe('my-app-prod');
    expect(() => githubActionsEnv(['GITHUB_TOKEN'])).toThrow(/cannot be a GitHub Actions/);
    expect(() => formatExport('shell', asVars([{ name: 'A-B', value: 'x' }]), o)).toThrow(
      /not a shell variable name/,
    );
    expect(githubActionsEnv([])).toBe('env: {}\n');
  });
});

describe('selectExport', () => {
  const secret = (name: string, value: string, localOnly = false) => ({
    path: `project/consilio/${name.toLowerCase()}`,
    envVar: name,
    value,
    localOnly,
  });

  it('leaves out local-only secrets (vault metadata or coffer.yaml) by name, never by value', async () => {
    const r = await selectExport(
      [
        secret('B_KEY', 'b'),
        secret('DEV_ONLY', 'hidden-1', true),
        secret('A_KEY', 'a'),
        secret('LOCAL_TUNNEL', 'hidden-2'),
      ],
      { env: 'prod', manifestLocalOnly: new Set(['LOCAL_TUNNEL']) },
    );
    expect(r.variables.map((v) => v.name)).toEqual(['A_KEY', 'B_KEY']);
    expect(r.excluded).toEqual([
      {
        name: 'DEV_ONLY',
        path: 'project/consilio/dev_only',
        reason: 'local-only (vault metadata)',
      },
      {
        name: 'LOCAL_TUNNEL',
        path: 'project/consilio/local_tunnel',
        reason: 'local-only (coffer.yaml)',
      },
    ]);
    expect(JSON.stringify(r.excluded)).not.toMatch(/hidden/);
  });

  it('resolves derived values through the reader', async () => {
    const reads: string[] = [];
    const r = await selectExport(
      [secret('DATABASE_URL', 'postgres://app:{{ coffer://project/consilio/db_password }}@db/app')],
      {
        env: 'prod',
        reader: {
          info: async () => ({ localOnly: false }),
          getMany: async (reqs) =>
            reqs.map((q) => {
              reads.push(`${q.path} ${q.env}`);
              return {
                ok: true as const,
                value: {
                  path: q.path,
                  env: q.env,
                  version: 1,
                  value: 'pw',
                  description: 'd',
                  createdAt: '',
                },
              };
            }),
        },
      },
    );
    expect(r.variables[0]!.value).toBe('postgres://app:pw@db/app');
    expect(reads).toEqual(['project/consilio/db_password prod']);
  });
});

describe('selectExport and names that load code', () => {
  const secret = (envVar: string, value: string, localOnly = false) => ({
    path: `project/app/${envVar.toLowerCase()}`,
    envVar,
    value,
    localOnly,
  });
  /** The CofferError selectExport rejects with. */
  async function refusalOf(p: Promise<unknown>): Promise<CofferError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CofferError);
    return err as CofferError;
  }

  it('refuses the whole export for one refused name (any case), naming it and its path, never a value', async () => {
    for (const envVar of ['NODE_OPTIONS', 'node_options', 'LD_PRELOAD', 'GIT_SSH_COMMAND']) {
      const err = await refusalOf(
        selectExport([secret('API_KEY', 'k-Zq81'), secret(envVar, '--require /tmp/evil-Wd4.js')], {
          env: 'prod',
        }),
      );
      expect(err.code, envVar).toBe('ENV_NAME_REFUSED');
      expect(err.message).toContain(`refused to export the variable ${envVar}`);
      expect(err.message).toContain(`project/app/${envVar.toLowerCase()}`);
      expect(err.hint).toContain('--allow-env-name');
      expect(`${err.message} ${err.hint}`).not.toMatch(/Zq81|Wd4/);
    }
    const sync = await refusalOf(
      selectExport([secret('PATH', '/tmp/bin')], { env: 'prod', verb: 'sync' }),
    );
    expect(sync.message).toContain('refused to sync the variable PATH');
  });

  it('exports a refused name the operator allowed, compared case-insensitively', async () => {
    const r = await selectExport([secret('NODE_OPTIONS', '--max-old-space-size=4096')], {
      env: 'prod',
      allowNames: ['node_options'],
    });
    expect(r.variables).toEqual([
      {
        name: 'NODE_OPTIONS',
        path: 'project/app/node_options',
        value: '--max-old-space-size=4096',
      },
    ]);
    // Allowing one name allows only that one.
    const err = await refusalOf(
      selectExport([secret('NODE_OPTIONS', 'x'), secret('PYTHONPATH', 'y')], {
        env: 'prod',
        allowNames: ['NODE_OPTIONS'],
      }),
    );
    expect(err.message).toContain('PYTHONPATH');
    expect(err.message).not.toContain('NODE_OPTIONS');
  });

  it('a local-only secret under a refused name never leaves, so it stops nothing', async () => {
    const r = await selectExport(
      [secret('API_KEY', 'k'), secret('NODE_OPTIONS', '--inspect', true), secret('PATH', '/x')],
      { env: 'prod', manifestLocalOnly: new Set(['PATH']) },
    );
    expect(r.variables.map((v) => v.name)).toEqual(['API_KEY']);
    expect(r.excluded.map((x) => x.name)).toEqual(['NODE_OPTIONS', 'PATH']);
  });

  it('refuses before any referenced value is read', async () => {
    const reads: string[] = [];
    const err = await refusalOf(
      selectExport([secret('NODE_OPTIONS', '{{ coffer://project/app/flags }}')], {
        env: 'prod',
        reader: {
          info: async (path) => {
            reads.push(`info ${path}`);
            return { localOnly: false };
          },
          getMany: async (reqs) => {
            for (const q of reqs) reads.push(`get ${q.path}`);
            return [];
          },
        },
      }),
    );
    expect(err.code).toBe('ENV_NAME_REFUSED');
    expect(reads).toEqual([]);
  });
});

describe('compose env_file', () => {
  /** compose-go's reading of the two forms coffer writes (dotenv/parser.go, v2). */
  function composeRead(line: string): [string, string] {
    const at = line.indexOf('=');
    const name = line.slice(0, at);
    const raw = line.slice(at + 1);
    if (raw.startsWith("'")) return [name, raw.slice(1, -1)];
    expect(raw.startsWith('"') && raw.endsWith('"')).toBe(true);
    const body = raw
      .slice(1, -1)
      .replace(/\\([nr])/g, (_m, c: string) => (c === 'n' ? '\n' : '\r'))
      .replace(/\\([^$])/g, '$1');
    expect(body).not.toContain('$'); // v2 would interpolate it
    return [name, body];
  }

  it('property: every value is written in a form Compose reads back exactly, or refused by name', () => {
    const value = fc.string({
      unit: fc.constantFrom('a', ' ', "'", '"', '$', '\\', '\n', '#', '`'),
      maxLength: 16,
    });
    fc.assert(
      fc.property(value, (v) => {
        const vars = asVars([{ name: 'VAR', value: v }]);
        let text: string;
        try {
          text = formatExport('compose', vars, o);
        } catch (err) {
          expect((err as Error).message).toContain('the value of VAR');
          return;
        }
        const lines = text.trimEnd().split('\n');
        expect(lines).toHaveLength(1);
        expect(composeRead(lines[0]!)).toEqual(['VAR', v]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('selectExport and local-only inputs of derived values', () => {
  it('leaves out a derived value made of a local-only secret, by name, and never its value', async () => {
    const { makeTestVault, DESCRIPTION } = await import('../../../test/helpers/vault.js');
    const { vault } = await makeTestVault();
    const personal = 'my-laptop-only-token-9f8e7d';
    await vault.set('project/ex/personal_token', 'dev', personal, { description: DESCRIPTION });
    await vault.describe('project/ex/personal_token', 'dev', { localOnly: true });
    await vault.set('project/ex/api_token', 'dev', 'coffer://project/ex/personal_token', {
      description: DESCRIPTION,
    });
    await vault.set(
      'project/ex/api_url',
      'dev',
      'https://x:{{ coffer://project/ex/personal_token }}@h',
      {
        description: DESCRIPTION,
      },
    );
    await vault.set('project/ex/db_password', 'dev', 'db-pw-0001', { description: DESCRIPTION });
    await vault.set(
      'project/ex/db_url',
      'dev',
      'pg://app:{{ coffer://project/ex/db_password }}@db',
      {
        description: DESCRIPTION,
      },
    );
    const secrets = await vault.readProject('ex', 'dev', 'export');
    const r = await selectExport(secrets, { env: 'dev', reader: vault });
    expect(r.variables.map((v) => v.name)).toEqual(['DB_PASSWORD', 'DB_URL']);
    expect(r.variables.find((v) => v.name === 'DB_URL')?.value).toBe('pg://app:db-pw-0001@db');
    expect(r.excluded.map((e) => [e.name, e.reason])).toEqual([
      ['API_TOKEN', 'refers to project/ex/personal_token (dev), local-only (vault metadata)'],
      ['API_URL', 'refers to project/ex/personal_token (dev), local-only (vault metadata)'],
      ['PERSONAL_TOKEN', 'local-only (vault metadata)'],
    ]);
    expect(JSON.stringify(r)).not.toContain(personal);
    // Marked local-only by the manifest alone: the same.
    const m = await selectExport(secrets, {
      env: 'dev',
      reader: vault,
      manifestLocalOnly: new Set(['project/ex/db_password']),
    });
    expect(m.variables.map((v) => v.name)).toEqual([]);
    // A flag the caller may not read: left out too.
    const blind = await selectExport(secrets, {
      env: 'dev',
      reader: {
        getMany: (q) => vault.getMany(q),
        info: async () => {
          throw new CofferError('FORBIDDEN', 'capability list not granted');
        },
      },
    });
    expect(blind.variables.map((v) => v.name)).toEqual(['DB_PASSWORD']);
  });
});
