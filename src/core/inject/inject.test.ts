/**
 * The names rule, credential stripping and the environment of `coffer run`, in process.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RUNS_CODE } from '../../../test/helpers/code-names.js';
import { errorOf } from '../../../test/helpers/errors.js';
import { CofferError } from '../errors.js';
import { selectExport } from '../export/select.js';
import {
  assertInjectableNames,
  CREDENTIAL_ENV_NAMES,
  childEnvironment,
  parsePassEnv,
  REFUSED_ENV_NAMES,
  refusedEnvName,
  runEnvironment,
} from './index.js';

const REQUIRED = [
  'NODE_OPTIONS',
  'NODE_PATH',
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'DYLD_INSERT_LIBRARIES',
  'PATH',
  'BASH_ENV',
  'ENV',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PERL5OPT',
  'RUBYOPT',
  'JAVA_TOOL_OPTIONS',
  'GIT_SSH_COMMAND',
  'GIT_CONFIG_COUNT',
  'SHELLOPTS',
  'PS4',
  'IFS',
];

const refusal = errorOf;

describe('refusedEnvName', () => {
  it('refuses every name the threat model requires, in any case', () => {
    for (const name of REQUIRED) {
      expect(refusedEnvName(name), name).toBeDefined();
      expect(refusedEnvName(name.toLowerCase()), name).toBeDefined();
    }
    expect(refusedEnvName('npm_config_script_shell')).toBeDefined();
  });

  it('lets ordinary secret names through', () => {
    for (const name of ['STRIPE_API_KEY', 'DATABASE_URL', 'NODE_ENV', 'PATHS', 'GITHUB_TOKEN']) {
      expect(refusedEnvName(name), name).toBeUndefined();
    }
  });

  it('refuses names that are not env-var names at all (they would set another variable)', () => {
    for (const name of ['A=B', 'NODE_OPTIONS=x', 'A\u0000B', '', '1A', 'A B']) {
      expect(refusedEnvName(name)?.invalid, JSON.stringify(name)).toBe(true);
    }
  });

  it('every entry has a reason', () => {
    for (const r of REFUSED_ENV_NAMES) expect(r.reason.length).toBeGreaterThan(10);
  });
});

describe('assertInjectableNames', () => {
  it('names the variable, the key path and how to allow it', () => {
    const err = refusal(() =>
      assertInjectableNames([{ name: 'NODE_OPTIONS', path: 'project/app/node_options' }]),
    );
    expect(err.code).toBe('ENV_NAME_REFUSED');
    expect(err.errorClass).toBe('usage');
    expect(err.message).toContain('NODE_OPTIONS');
    expect(err.message).toContain('project/app/node_options');
    expect(err.hint).toContain('--allow-env-name NODE_OPTIONS');
    expect(err.hint).toContain('allow_env_names=NODE_OPTIONS');
  });

  it('an allowed name passes, compared case-insensitively; an invalid name never does', () => {
    const vars = [{ name: 'node_options', path: 'project/app/x' }];
    expect(() => assertInjectableNames(vars, ['NODE_OPTIONS'])).not.toThrow();
    const bad = [{ name: 'A=B', path: 'project/app/x' }];
    expect(refusal(() => assertInjectableNames(bad, ['A=B'])).hint).not.toContain('--allow');
  });

  it('without a local way to allow (MCP), the hint offers none', () => {
    const err = refusal(() =>
      assertInjectableNames([{ name: 'PATH', path: 'project/app/path' }], [], 'write', false),
    );
    expect(err.hint).not.toContain('allow_env_names');
  });
});

describe('childEnvironment', () => {
  it("drops coffer's credentials in any case, keeps the rest, passes on what is asked", () => {
    const parent = {
      HOME: '/home/u',
      COFFER_URL: 'https://c',
      COFFER_ENV: 'dev',
      COFFER_DATA_KEYS: 'k1:x',
      COFFER_MASTER_KEY: 'mk',
      COFFER_PASSPHRASE: 'pp',
      COFFER_TOKEN: 'tok',
      COFFER_DATABASE_URL: 'postgres://u:pw@h/d',
      COFFER_KEY_FILE: '/k',
      coffer_token: 'lower',
      UNSET: undefined,
    };
    expect(childEnvironment(parent)).toEqual({
      HOME: '/home/u',
      COFFER_URL: 'https://c',
      COFFER_ENV: 'dev',
      COFFER_DATA_KEYS: 'k1:x',
    });
    const pass = parsePassEnv(['coffer_token']);
    expect(childEnvironment(parent, pass)).toMatchObject({ COFFER_TOKEN: 'tok' });
    expect(childEnvironment(parent, pass).COFFER_MASTER_KEY).toBeUndefined();
  });

  it('--pass-env takes only credential variables', () => {
    expect(refusal(() => parsePassEnv(['HOME'])).code).toBe('USAGE');
    expect([...parsePassEnv(CREDENTIAL_ENV_NAMES)]).toEqual([...CREDENTIAL_ENV_NAMES]);
  });
});

describe('runEnvironment', () => {
  const secret = (envVar: string, value: string) => ({
    path: `project/app/${envVar.toLowerCase()}`,
    envVar,
    value,
  });

  it('injects, keeps inherited values unless override, skips a NUL value by name', async () => {
    const plan = await runEnvironment(
      [secret('API_KEY', 'k'), secret('PORT', '9'), secret('BLOB', 'a\u0000b')],
      { PORT: '1', COFFER_TOKEN: 't' },
    );
    expect(plan.env).toEqual({ PORT: '1', API_KEY: 'k' });
    expect(plan.skipped).toEqual([
      { name: 'BLOB', path: 'project/app/blob', reason: expect.stringContaining('NUL') },
    ]);
    expect(JSON.stringify(plan.skipped)).not.toContain('a\u0000b');
    expect(
      (await runEnvironment([secret('PORT', '9')], { PORT: '1' }, { override: true })).env,
    ).toEqual({ PORT: '9' });
  });

  it('refuses the whole run for one refused name, even one the environment already sets', async () => {
    const denied: {
      action: string;
      path?: string | undefined;
      env?: string | undefined;
      reason: string;
    }[] = [];
    const err = await runEnvironment(
      [secret('API_KEY', 'k'), secret('NODE_OPTIONS', 'sentinel-Qx7-evil.js')],
      { NODE_OPTIONS: '' },
      {
        audit: {
          action: 'run',
          env: 'prod',
          deny: async (action, t, reason) => {
            denied.push({ action, path: t.path, env: t.env, reason });
          },
        },
      },
    ).then(
      () => undefined,
      (e: unknown) => e as CofferError,
    );
    expect(err).toBeInstanceOf(CofferError);
    expect(err!.message).toContain('NODE_OPTIONS');
    expect(`${err!.message} ${err!.hint}`).not.toContain('sentinel-Qx7');
    // One denied record for the refused variable, before the error; never its value.
    expect(denied).toEqual([
      {
        action: 'run',
        path: 'project/app/node_options',
        env: 'prod',
        reason: expect.stringMatching(/^ENV_NAME_REFUSED NODE_OPTIONS: /),
      },
    ]);
    expect(JSON.stringify(denied)).not.toContain('sentinel-Qx7');
  });

  it('never hands a credential on unless passed, whatever the secrets (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...CREDENTIAL_ENV_NAMES, 'HOME', 'X'), fc.string()),
        async (parent) => {
          const env = (await runEnvironment([], parent)).env;
          for (const name of CREDENTIAL_ENV_NAMES) expect(env[name]).toBeUndefined();
        },
      ),
    );
  });
});

/**
 * Each name of RUNS_CODE must stop `coffer run` (runEnvironment), a .env writer such as
 * `env pull` (its assertInjectableNames call) and `export`/`sync` (selectExport), in any case.
 */
describe('names that make shells, Lua, pagers, Vim, go, cargo, Erlang and .NET run code', () => {
  const VALUE = '$(touch /tmp/pwned-Vb2)';
  const vars = (name: string) => [
    { path: 'project/app/api_key', envVar: 'API_KEY', value: 'k', localOnly: false },
    { path: `project/app/${name.toLowerCase()}`, envVar: name, value: VALUE, localOnly: false },
  ];
  const refusedBy = async (
    name: string,
    fn: () => unknown,
  ): Promise<{ code: string; text: string }> => {
    let err: unknown;
    try {
      await fn();
    } catch (e) {
      err = e;
    }
    expect(err, `${name} was not refused`).toBeInstanceOf(CofferError);
    const e = err as CofferError;
    return { code: e.code, text: `${e.message} ${e.hint ?? ''}` };
  };

  it.each(RUNS_CODE.flatMap((n) => [n, n.toLowerCase()]))(
    '%s is refused by run, env pull and export, naming it and never its value; allowed when the operator says so',
    async (name) => {
      expect(refusedEnvName(name)).toBeDefined();
      const checks = {
        run: () => runEnvironment(vars(name), {}),
        'env pull': () =>
          assertInjectableNames(
            vars(name).map((v) => ({ name: v.envVar, path: v.path })),
            [],
            'write .env with',
          ),
        export: () => selectExport(vars(name), { env: 'dev' }),
      };
      for (const [what, fn] of Object.entries(checks)) {
        const r = await refusedBy(`${name} (${what})`, fn);
        expect(r.code, what).toBe('ENV_NAME_REFUSED');
        expect(r.text, what).toContain(`${name} (from project/app/${name.toLowerCase()}:`);
        expect(r.text, what).toContain(`--allow-env-name ${name}`);
        expect(r.text, what).not.toContain('pwned');
      }
      expect((await runEnvironment(vars(name), {}, { allowNames: [name] })).env[name]).toBe(VALUE);
      const allowed = await selectExport(vars(name), { env: 'dev', allowNames: [name] });
      expect(allowed.variables.map((v) => v.name)).toContain(name);
    },
  );

  it('names that only look alike still pass', () => {
    for (const name of ['PS10', 'PAGERDUTY_API_KEY', 'LUA_INITIAL', 'GOFLAGS_X', 'EXINITS']) {
      expect(refusedEnvName(name), name).toBeUndefined();
    }
    // Build tools: only the names themselves, and cargo's runner and linker of a target.
    for (const name of [
      'CCACHE_DIR',
      'CC_EMAIL',
      'LDAP_URL',
      'ARGS',
      'CPPFLAGS_EXTRA',
      'RUSTC_BOOTSTRAP',
      'CARGO_TARGET_DIR',
      'CARGO_TARGET__RUNNER',
      'CARGO_TARGET_RUNNER_X',
      'JAVA_HOME',
      'MAKE_ENV',
      'ASSET_HOST',
      'LINKEDIN_TOKEN',
      'CFLAGS_EXTRA',
      'ANT_HOME',
      'SBT_VERSION',
      'RUSTFLAGS_EXTRA',
      'CARGO_TARGET__RUSTFLAGS',
      'CARGO_TARGET_RUSTDOCFLAGS',
      'LESSON_PLAN_KEY',
      'LESS_SECRET',
      'TAR_URL',
      'ZIP_CODE_API_KEY',
      'ZIPKIN_URL',
      'RSYNC_PASSWORD',
      'MAKEFILE_PATH',
      'YACC_URL',
      'LEXICON_KEY',
      'FCM_SERVER_KEY',
      'OBJC_KEY',
      'PC_NAME',
      'COOKIE_SECRET',
      'CO_API_KEY',
      'GET_URL',
      'TEXT',
      'RMQ_URL',
      'RM_API_KEY',
      'LDLIBS_EXTRA',
      'ARFLAGS_X',
      'RANLIB_X',
      'PKG_CONFIG_PATH',
      'CONFIG_SHELLS',
      'M4_KEY',
      'AUTOCONF_URL',
      'COMPILER_PATH_X',
      'GCC_VERSION',
      'ANT_ARGS_X',
      'JAVACMD_HOME',
      'SBTN_CMD_X',
      'CVS_RSH_X',
      'CVSROOT',
      'SVN_SSH_KEY',
      'SVN_PASSWORD',
    ]) {
      expect(refusedEnvName(name), name).toBeUndefined();
    }
  });

  it('the refusal of a build-tool, pager or archiver option names the option that runs a program', () => {
    const reasons: [string, string][] = [
      ['CFLAGS', '-wrapper'],
      ['CXXFLAGS', '-fplugin='],
      ['CPPFLAGS', '-wrapper'],
      ['LDFLAGS', '-wrapper'],
      ['RUSTFLAGS', '-C linker='],
      ['CARGO_ENCODED_RUSTFLAGS', '-C linker='],
      ['RUSTDOCFLAGS', '-C linker='],
      ['ANT_OPTS', '-javaagent:'],
      ['SBT_OPTS', '--java-home'],
      ['AS', '.s files'],
      ['LESS', '+!CMD'],
      ['TAR_OPTIONS', '--checkpoint-action=exec='],
      ['ZIPOPT', '-TT'],
      ['LINK', 'linker'],
      ['LDLIBS', '; starts another command'],
      ['YACC', "make's built-in rules"],
      ['PKG_CONFIG', '#cgo pkg-config'],
      ['COMPILER_PATH', 'cc1'],
      ['ANT_ARGS', '-logger'],
      ['CVS_RSH', ':ext:'],
      ['SVN_SSH', 'svn+ssh://'],
    ];
    for (const [name, option] of reasons) {
      expect(refusedEnvName(name)?.reason, name).toContain(option);
    }
  });

  it("cargo's per-target runner, linker and flags are refused for any target triple", () => {
    for (const triple of ['X86_64_UNKNOWN_LINUX_GNU', 'wasm32_wasip1', 'A']) {
      expect(refusedEnvName(`CARGO_TARGET_${triple}_RUNNER`)?.pattern).toBe(
        'CARGO_TARGET_*_RUNNER',
      );
      expect(refusedEnvName(`cargo_target_${triple}_linker`)?.pattern).toBe(
        'CARGO_TARGET_*_LINKER',
      );
      expect(refusedEnvName(`CARGO_TARGET_${triple}_RUSTFLAGS`)?.pattern).toBe(
        'CARGO_TARGET_*_RUSTFLAGS',
      );
      expect(refusedEnvName(`CARGO_TARGET_${triple}_RUSTDOCFLAGS`)?.pattern).toBe(
        'CARGO_TARGET_*_RUSTDOCFLAGS',
      );
    }
  });
});
