/**
 * Walks the README as a new user does, with the commands copied from its code blocks (named by
 * the block's info string, e.g. ```sh quickstart), so the README cannot drift from what works:
 * Install (from a clone: `npm install -g .`; into an application: `npm pack` and the
 * tarball), Quickstart, the CONNECTOR_SECRET_KEY script (`npm run generate:connector-key`)
 * and the agent's store-first workflow over MCP. Every walk starts in a fresh HOME, with the
 * Node that runs the tests; they run in order, as a reader does: the later ones use the
 * `coffer` that the Install walk put on the PATH and into the application.
 *
 * Offline and without touching the repository: the "clone" is a copy of the working tree
 * whose node_modules links to the repository's; the application's node_modules is seeded with
 * copies of coffer's runtime dependencies (already built, better-sqlite3's addon included) and
 * its .npmrc says offline and ignore-scripts, standing in for the registry. npm's global
 * prefix is a temp directory.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import dotenv from 'dotenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, { types?: string } | string>;
};

/** The code block whose info string is `LANG NAME`; exactly one. */
function block(name: string): string {
  const found = [...README.matchAll(/^```(\w+) ([\w-]+)\n([\s\S]*?)^```$/gm)].filter(
    (m) => m[2] === name,
  );
  expect(
    found.map((m) => m[2]),
    `README block "${name}"`,
  ).toEqual([name]);
  return found[0]![3]!;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function expectOk(r: Run, what: string): void {
  expect(r.code, `${what}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0);
}

const tmp = mkdtempSync(join(tmpdir(), 'coffer-readme-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const clone = join(tmp, 'coffer');
const app = join(tmp, 'myapp');
const prefix = join(tmp, 'npm-global');

/** A fresh HOME and the environment of a shell in it: only what a user's shell would have. */
function freshHome(name: string): Record<string, string> {
  const home = join(tmp, name);
  mkdirSync(home);
  return {
    HOME: home,
    // npm's global bin (where `npm install -g .` links coffer), then the Node under test.
    PATH: [
      join(prefix, 'bin'),
      dirname(process.execPath),
      process.env.PATH ?? '/usr/bin:/bin',
    ].join(':'),
    LANG: 'C.UTF-8',
    NPM_CONFIG_PREFIX: prefix,
    npm_config_cache: join(tmp, 'npm-cache'),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}

/** Runs a README block with bash, stopping at the first failing command. */
function sh(script: string, cwd: string, env: Record<string, string>): Run {
  const r = spawnSync('bash', ['-c', `set -euo pipefail\n${script}`], {
    cwd,
    env,
    encoding: 'utf8',
    timeout: 90_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The working tree as a clone has it (tracked and new files), dependencies linked. */
function makeClone(): void {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(git.status, git.stderr).toBe(0);
  for (const file of git.stdout.split('\0')) {
    if (file === '' || file === 'node_modules' || file.startsWith('node_modules/')) continue;
    const from = join(ROOT, file);
    if (!existsSync(from) || lstatSync(from).isDirectory()) continue;
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    copyFileSync(from, join(clone, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
}

/**
 * The application beside the clone, its node_modules seeded with copies of coffer's runtime
 * dependencies (from the lockfile) and of @types/node (the application's own dev dependency),
 * so that installing the tarball needs no registry and builds nothing.
 */
function makeApp(): void {
  mkdirSync(app);
  const typesNode = JSON.parse(
    readFileSync(join(ROOT, 'node_modules', '@types', 'node', 'package.json'), 'utf8'),
  ).version as string;
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify(
      {
        name: 'myapp',
        version: '1.0.0',
        private: true,
        type: 'module',
        devDependencies: { '@types/node': typesNode },
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(join(app, '.npmrc'), 'offline=true\nignore-scripts=true\n');
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const wanted = Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && p.dev !== true)
    .map(([path]) => path);
  for (const path of [...wanted, 'node_modules/@types/node', 'node_modules/undici-types']) {
    const from = join(ROOT, path);
    if (!existsSync(from)) continue; // an optional dependency of another platform
    cpSync(from, join(app, path), {
      recursive: true,
      // Only the built addon of better-sqlite3 is needed, not its sources and objects.
      filter: (src) => !/better-sqlite3\/(deps|src|build\/Release\/(obj|\.deps))/.test(src),
    });
    // npm reinstalls a package whose bin links are missing: link them as npm does.
    const manifest = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')) as {
      name: string;
      bin?: string | Record<string, string>;
    };
    const bins =
      typeof manifest.bin === 'string'
        ? { [manifest.name.replace(/^@[^/]+\//, '')]: manifest.bin }
        : (manifest.bin ?? {});
    const binDir = join(app, path.replace(/node_modules\/(@[^/]+\/)?[^/]+$/, 'node_modules/.bin'));
    for (const [name, target] of Object.entries(bins)) {
      mkdirSync(binDir, { recursive: true });
      symlinkSync(relative(binDir, join(app, path, target)), join(binDir, name));
    }
  }
}

beforeAll(() => {
  makeClone();
  makeApp();
});

describe('README: Install', () => {
  it('from a clone: `coffer` on the PATH', () => {
    const env = freshHome('home-install');
    const script = block('install');
    // `npm ci` downloads the dependencies (here: linked from the repository under test) and
    // then runs the package's prepare script as npm ci does: from the clone itself.
    expect(script).toMatch(/^npm ci\b/m);
    const ci = sh('node scripts/build.mjs --prepare', clone, {
      ...env,
      npm_command: 'ci',
      INIT_CWD: clone,
    });
    expectOk(ci, 'prepare, as npm ci runs it');
    // In the checkout itself the declarations are left to `npm run build` (npm ci stays fast).
    expect(existsSync(join(clone, 'dist', 'cli.cjs'))).toBe(true);
    expect(existsSync(join(clone, 'dist', 'types'))).toBe(false);
    const r = sh(script.replace(/^npm ci\b.*$/m, ''), clone, env);
    expectOk(r, 'the Install block');
    expect(r.stdout.trim().split('\n').at(-1)).toBe(PKG.version);
    expect(existsSync(join(prefix, 'bin', 'coffer'))).toBe(true);
  });

  it('into an application: the packed tarball, with type declarations', () => {
    const env = freshHome('home-app');
    const r = sh(block('install-app'), clone, env);
    expectOk(r, 'the install-app block');
    const installed = join(app, 'node_modules', 'coffer');
    for (const [subpath, target] of Object.entries(PKG.exports)) {
      if (typeof target === 'string') continue;
      expect(existsSync(join(installed, target.types!)), `${subpath} types`).toBe(true);
    }
    const bin = join(app, 'node_modules', '.bin', 'coffer');
    const version = sh(`${bin} --version`, app, env);
    expect(version.stdout.trim()).toBe(PKG.version);
    const init = sh(`${bin} init`, app, { ...env, COFFER_HOME: join(env.HOME!, 'vault') });
    expectOk(init, 'coffer init from the application');
    expect(existsSync(join(env.HOME!, 'vault', 'vault.db'))).toBe(true);
  });

  it('the library compiles with tsc --strict and runs from the application', () => {
    mkdirSync(join(app, 'src'));
    writeFileSync(
      join(app, 'src', 'main.ts'),
      `import { openSqliteStorage, Vault } from 'coffer';
import { type CofferClient, createClient, isCofferError } from 'coffer/client';
import { decryptJsonBlob, encryptJsonBlob, keyringFromEnv, rowContext } from 'coffer/envelope';
import * as fernet from 'coffer/fernet';
import { createRedactor } from 'coffer/redact';

const keyring = keyringFromEnv({ CONNECTOR_SECRET_KEY: 'k'.repeat(32) });
const context = rowContext('external_accounts', 'access_token', '42');
const stored: string = encryptJsonBlob({ access_token: 'at' }, keyring, { context });
const back = decryptJsonBlob(stored, keyring, { context }) as { access_token: string };
const key: string = fernet.generateKey();
const token: string = fernet.encrypt(key, 'hello');
const client: CofferClient = createClient({ url: 'http://127.0.0.1:1', token: 'coffer_x' });
const redacted: string = createRedactor({ values: ['s3cr3t-value'] }).redactString('a s3cr3t-value');
console.log(JSON.stringify({
  vault: typeof Vault, storage: typeof openSqliteStorage, client: typeof client.getSecret,
  isCofferError: isCofferError(new Error('x')), back: back.access_token,
  fernet: fernet.decrypt(key, token).toString('utf8'), redacted,
}));
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      `${JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          rootDir: 'src',
          outDir: 'build',
        },
        include: ['src'],
      })}\n`,
    );
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.', '--strict'],
      { cwd: app, encoding: 'utf8' },
    );
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const run = spawnSync(process.execPath, ['build/main.js'], { cwd: app, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      vault: 'function',
      storage: 'function',
      client: 'function',
      isCofferError: false,
      back: 'at',
      fernet: 'hello',
      redacted: 'a [REDACTED]',
    });
  });
});

describe('README: Quickstart', () => {
  it('init, set, get, list, verify', () => {
    const env = freshHome('home-quickstart');
    const r = sh(block('quickstart'), env.HOME!, env);
    expectOk(r, 'the Quickstart block');
    expect(r.stdout).toContain('sk_live_abc123xyz\n');
    expect(r.stdout).toContain('project/consilio/stripe_api_key');
    expect(existsSync(join(env.HOME!, '.coffer', 'vault.db'))).toBe(true);
  });
});

describe('README: a key generated once and kept (CONNECTOR_SECRET_KEY)', () => {
  it('npm run generate:connector-key creates .env once and never changes the key', () => {
    const env = freshHome('home-connector');
    const pkgFile = join(app, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    Object.assign(pkg, JSON.parse(`{${block('connector-key-script')}}`));
    writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
    const script = block('connector-key');
    const [first, second] = script.trim().split('\n');
    rmSync(join(app, '.env'), { force: true });

    const r1 = sh(first!, app, env);
    expectOk(r1, first!);
    const key = dotenv.parse(readFileSync(join(app, '.env'))).CONNECTOR_SECRET_KEY!;
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(lstatSync(join(app, '.env')).mode & 0o777).toBe(0o600);
    expect(r1.stdout + r1.stderr).not.toContain(key);

    const r2 = sh(second!, app, env);
    expectOk(r2, second!);
    expect(r2.stderr).toContain('skipped');
    expect(dotenv.parse(readFileSync(join(app, '.env'))).CONNECTOR_SECRET_KEY).toBe(key);
  });
});

/** The calls of a javascript block: `tool({...})`, each optionally followed by `// -> {...}`. */
function toolCalls(text: string): { tool: string; args: unknown; expected?: unknown }[] {
  const value = (src: string) =>
    new Function(`return (${src.replace(/,?\s*\.\.\.\s*/g, ' ')});`)() as unknown;
  const calls: { tool: string; args: unknown; expected?: unknown }[] = [];
  const start = /^(\w+)\(/gm;
  for (let m = start.exec(text); m !== null; m = start.exec(text)) {
    let depth = 0;
    let quote = '';
    let end = m.index + m[0].length - 1;
    for (; end < text.length; end++) {
      const c = text[end]!;
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === "'" || c === '"') quote = c;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) break;
    }
    const args = value(text.slice(m.index + m[0].length, end));
    const next = text.slice(end + 1).match(/^\s*\n\/\/ -> (.*)\n/);
    calls.push({ tool: m[1]!, args, ...(next ? { expected: value(next[1]!) } : {}) });
    start.lastIndex = end;
  }
  return calls;
}

describe("README: an agent's store-first workflow (MCP)", () => {
  it('runs the configured server and the workflow, and the .env and vault agree', async () => {
    const env = freshHome('home-mcp');
    expectOk(sh('coffer init', env.HOME!, env), 'coffer init');
    const server = JSON.parse(block('mcp-config')).mcpServers.coffer as {
      command: string;
      args: string[];
      env: Record<string, string>;
    };
    // The README's path is an example of `command -v coffer` after `npm install -g .`.
    expect(isAbsolute(server.command)).toBe(true);
    expect(server.command).toMatch(/\/bin\/coffer$/);
    const command = sh('command -v coffer', env.HOME!, env).stdout.trim();
    expect(command).toBe(join(prefix, 'bin', 'coffer'));

    const mcpCwd = join(tmp, 'agent-app');
    mkdirSync(mcpCwd);
    writeFileSync(join(mcpCwd, '.env'), '# the app\nPORT=3000\n');
    const transport = new StdioClientTransport({
      command,
      args: server.args,
      env: { ...env, ...server.env },
      cwd: mcpCwd,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const client = new Client({ name: 'readme-walk', version: '1.0.0' });
    await client.connect(transport);
    try {
      const calls = toolCalls(block('mcp-workflow'));
      expect(calls.map((c) => c.tool)).toContain('set_secret');
      for (const call of calls) {
        const r = (await client.callTool({
          name: call.tool,
          arguments: call.args as Record<string, unknown>,
        })) as { isError?: boolean; structuredContent?: unknown; content: unknown };
        expect(r.isError, `${call.tool}: ${JSON.stringify(r.content)}\n${stderr}`).toBeFalsy();
        if (call.expected !== undefined) {
          expect(r.structuredContent, call.tool).toMatchObject(call.expected as object);
        }
      }
    } finally {
      await client.close();
    }
    // Store first, .env second: the vault holds what the .env file got; other lines kept.
    const written = dotenv.parse(readFileSync(join(mcpCwd, '.env')));
    expect(written.PORT).toBe('3000');
    expect(written.STRIPE_API_KEY).toBe('sk_live_abc123xyz');
    const jwt = sh('coffer get project/consilio/jwt_secret', env.HOME!, env);
    expectOk(jwt, 'coffer get');
    expect(written.JWT_SECRET).toBe(jwt.stdout.trim());
  });
});
