/**
 * Short commands load no package they do not use: zod and yaml (the manifest reader, MCP,
 * the server), pino, hono and the MCP SDK are loaded on use only, since parsing them is a
 * large share of a short command's start-up (bench/: CLI start-up).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, makeHome } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'coffer-startup-'));
const trace = join(dir, 'trace-load.cjs');
writeFileSync(
  trace,
  `const Module = require('node:module');
const load = Module._load;
const seen = new Set();
Module._load = function (request, ...rest) {
  if (!/^(node:|\\.|\\/)/.test(request)) seen.add(request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0]);
  return load.call(this, request, ...rest);
};
// The loader reads the cold bundle itself (to run it through its code cache).
const fs = require('node:fs');
const openSync = fs.openSync;
fs.openSync = function (file, ...rest) {
  const bundle = /(coffer-(?:cold|mcp)\\.cjs)$/.exec(String(file));
  if (bundle) seen.add('(' + bundle[1] + ')');
  return openSync.call(this, file, ...rest);
};
process.on('exit', () => process.stderr.write('LOADED ' + [...seen].sort().join(',') + '\\n'));
`,
);
// Node's built-in modules the command loads, seen by a trace that loads none itself (it
// writes with fs, loaded before any user code, since process.stderr would load node:net).
const builtinsTrace = join(dir, 'trace-builtins.cjs');
writeFileSync(
  builtinsTrace,
  `const before = new Set(process.moduleLoadList);
process.on('exit', () => {
  const added = process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule '));
  require('node:fs').writeSync(2, 'BUILTINS ' + added.map((m) => m.slice(13)).join(',') + '\\n');
});
`,
);

const HEAVY = ['zod', 'yaml', 'pino', 'hono', '@hono/node-server', '@modelcontextprotocol/server'];

/** What `coffer args` loads: packages (`LOADED`) or Node's built-in modules (`BUILTINS`). */
function loaded(
  args: string[],
  env: Record<string, string>,
  input = '',
  what: 'LOADED' | 'BUILTINS' = 'LOADED',
  stdout: 'pipe' | 'ignore' = 'pipe',
): string[] {
  const r = spawnSync(
    process.execPath,
    ['-r', what === 'LOADED' ? trace : builtinsTrace, BIN, ...args],
    {
      env,
      input,
      encoding: 'utf8',
      stdio: ['pipe', stdout, 'pipe'],
    },
  );
  const line = r.stderr.split('\n').find((l) => l.startsWith(`${what} `)) ?? `${what} `;
  return line
    .slice(what.length + 1)
    .split(',')
    .filter(Boolean);
}

/** A vault holding project/app/api_key. */
function homeWithSecret(): ReturnType<typeof makeHome> {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const set = h.run(
    ['set', 'project/app/api_key', '-d', 'API key the app calls the billing provider with'],
    { input: 'value-123456' },
  );
  expect(set.code, set.stderr).toBe(0);
  return h;
}

describe('start-up loads only what the command uses', () => {
  it('--version, get and run load none of the heavy packages; manifest check loads zod', () => {
    const h = homeWithSecret();
    for (const args of [
      ['--version'],
      ['get', 'project/app/api_key'],
      ['run', '--project', 'app', '--', 'true'],
    ]) {
      const mods = loaded(args, h.env);
      expect(
        mods.filter((m) => HEAVY.includes(m)),
        args.join(' '),
      ).toEqual([]);
    }
    writeFileSync(join(h.home, 'coffer.yaml'), 'project: app\n');
    // The trace does see a package loaded on use.
    expect(loaded(['manifest', 'check'], h.env, h.home)).toContain('zod');
  });

  it('the short commands run from coffer.cjs alone; the others load coffer-cold.cjs', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const cold = '(coffer-cold.cjs)';
    for (const args of [['--version'], ['list'], ['run', '--', 'true'], ['get', 'project/x/y']]) {
      expect(loaded(args, h.env), args.join(' ')).not.toContain(cold);
    }
    for (const args of [['doctor', '--help'], ['describe', '--help'], ['--help']]) {
      expect(loaded(args, h.env), args.join(' ')).toContain(cold);
    }
  });

  it('the CLI bundles load built-ins on demand with require, never import(), which they cannot run', () => {
    // The loader runs each bundle through vm.Script, which has no loader for import(): a
    // built-in imported on demand (the terminal check of --passphrase-stdin, env import's
    // prompt) failed there with ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING.
    const bundles = readdirSync(dirname(BIN)).filter((f) => /^coffer.*\.cjs$/.test(f));
    expect(bundles).toEqual(expect.arrayContaining(['coffer.cjs', 'coffer-cold.cjs']));
    for (const f of bundles) {
      const text = readFileSync(join(dirname(BIN), f), 'utf8');
      expect(text.match(/\bimport\(["']node:[^"']*["']\)/g) ?? [], f).toEqual([]);
    }
  });

  it('get and list load no built-in module they do not use (child processes, sockets, node:module)', () => {
    const h = homeWithSecret();
    // stdout is a pipe: coffer writes to it without Node's stream for it (a socket: node:net).
    const unused = ['child_process', 'net', 'dgram', 'module', 'http', 'https'];
    for (const args of [
      ['get', 'project/app/api_key'],
      ['list', 'project/app'],
    ]) {
      const builtins = loaded(args, h.env, '', 'BUILTINS', 'pipe');
      // The trace sees what the command loads.
      expect(builtins, args.join(' ')).toContain('crypto');
      expect(
        builtins.filter((m) => unused.includes(m)),
        args.join(' '),
      ).toEqual([]);
    }
    // The trace does see them where they are used.
    expect(loaded(['run', '--', 'true'], h.env, '', 'BUILTINS', 'ignore')).toContain(
      'child_process',
    );
  });

  it('mcp runs from coffer-mcp.cjs, which holds the MCP SDK, zod, pino and yaml', () => {
    const h = homeWithSecret();
    const mods = loaded(['mcp'], h.env);
    expect(mods).toContain('(coffer-mcp.cjs)');
    expect(mods).not.toContain('(coffer-cold.cjs)');
    expect(mods.filter((m) => HEAVY.includes(m))).toEqual([]);
    for (const args of [
      ['get', 'project/app/api_key'],
      ['doctor', '--help'],
    ]) {
      expect(loaded(args, h.env), args.join(' ')).not.toContain('(coffer-mcp.cjs)');
    }
  });

  it('scan --no-vault (a pre-commit hook without a vault) does not load SQLite', () => {
    const h = makeHome();
    // better-sqlite3's own JavaScript requires fs, path and util without the node: prefix.
    expect(loaded(['scan', '--no-vault', h.home], h.env)).toEqual(['(coffer-cold.cjs)']);
    expect(h.run(['init']).code).toBe(0);
    expect(loaded(['scan', h.home], h.env)).toEqual(['(coffer-cold.cjs)', 'fs', 'path', 'util']);
  });
});
