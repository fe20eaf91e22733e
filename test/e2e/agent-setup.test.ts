/**
 * `coffer agent setup` and `coffer agent check` through the built binary, for each client on a
 * fresh and on an existing configuration: valid files afterwards, existing entries and bytes
 * kept, a second run byte-identical, check green afterwards and red for each piece removed, a
 * broken file refused with file:line and nothing written. Then the pieces at work: the
 * configured server started as the client would (values never revealed), and the Claude Code
 * hook command masking a stored value in a tool's output.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { describe, expect, it } from 'vitest';
import { jsonValue, parseJsonTree } from '../../src/core/agents/json-edit.js';
import { parseToml } from '../../src/core/agents/toml-edit.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../helpers/fifo.js';
import { BIN, makeHome } from './harness.js';

const STRIPE = 'sk_live_e2eAgentSetup0123456789';
const CLIENTS = ['claude-code', 'codex', 'cursor', 'vscode'] as const;
type AgentClient = (typeof CLIENTS)[number];
const MCP_FILE: Record<AgentClient, string> = {
  'claude-code': '.mcp.json',
  codex: '.codex/config.toml',
  cursor: '.cursor/mcp.json',
  vscode: '.vscode/mcp.json',
};
const INSTRUCTIONS: Record<AgentClient, string> = {
  'claude-code': 'CLAUDE.md',
  codex: 'AGENTS.md',
  cursor: 'AGENTS.md',
  vscode: 'AGENTS.md',
};

const python = spawnSync('python3', ['-c', 'import tomllib'], { encoding: 'utf8' }).status === 0;

function vault() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  for (const env of ['dev', 'prod']) {
    const r = h.run(
      [
        'set',
        'project/demo/stripe_api_key',
        '--env',
        env,
        '-d',
        'Stripe API key for payment processing',
      ],
      { input: STRIPE },
    );
    expect(r.code, r.stderr).toBe(0);
  }
  let n = 0;
  const project = (files: Record<string, string> = {}) => {
    const dir = join(h.home, `proj${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, '.coffer'), 'project=demo\n');
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), text);
    }
    return dir;
  };
  return { h, project };
}

/** Every file under `dir` with its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

/** The servers of a client's MCP file, parsed (TOML also by Python's tomllib when present). */
function servers(
  client: AgentClient,
  text: string,
): Record<string, { command?: string; args?: string[] }> {
  if (client === 'codex') {
    if (python) {
      const r = spawnSync(
        'python3',
        ['-c', 'import sys,tomllib,json; print(json.dumps(tomllib.loads(sys.stdin.read())))'],
        {
          input: text,
          encoding: 'utf8',
        },
      );
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout).mcp_servers;
    }
    const out: Record<string, Record<string, unknown>> = {};
    for (const k of parseToml(text, 'config.toml').keys) {
      if (k.path[0] !== 'mcp_servers') continue;
      out[k.path[1]!] ??= {};
      out[k.path[1]!]![k.path[2]!] = k.value;
    }
    return out as Record<string, { command?: string; args?: string[] }>;
  }
  const doc = jsonValue(parseJsonTree(text, 'mcp.json', { jsonc: client === 'vscode' })) as Record<
    string,
    never
  >;
  return doc[client === 'vscode' ? 'servers' : 'mcpServers'] ?? {};
}

/** A configuration each client's user may already have. */
const EXISTING: Record<AgentClient, Record<string, string>> = {
  'claude-code': {
    '.mcp.json':
      '{\n    "mcpServers": {\n        "github": { "command": "gh-mcp", "args": [] }\n    }\n}\n',
    '.claude/settings.json':
      '{\n  "permissions": {\n    "allow": ["Bash(npm test)"],\n    "deny": ["Bash(curl *)"]\n  },\n  "hooks": {\n    "PostToolUse": [{ "matcher": "Write", "hooks": [{ "type": "command", "command": "prettier --write" }] }]\n  }\n}\n',
    'CLAUDE.md': '# Demo\n\nRun npm test before a commit.\n',
  },
  codex: {
    '.codex/config.toml':
      '# Codex, this project\nmodel = "o3"\n\n[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "@upstash/context7-mcp"]\n\n[mcp_servers.docs.env]\nDEBUG = "1"\n',
    'AGENTS.md': '# Agents\n\nUse pnpm.\n',
  },
  cursor: {
    '.cursor/mcp.json':
      '{\n  "mcpServers": {\n    "figma": { "url": "http://127.0.0.1:3845/sse" }\n  }\n}\n',
    '.cursorignore': 'dist/\n',
    'AGENTS.md': '# Agents\n',
  },
  vscode: {
    '.vscode/mcp.json':
      '{\n\t// my servers\n\t"inputs": [],\n\t"servers": {\n\t\t"playwright": { "type": "stdio", "command": "npx", "args": ["@playwright/mcp"], },\n\t},\n}\n',
  },
};

describe('coffer agent setup and check', { timeout: 300_000 }, () => {
  for (const client of CLIENTS) {
    it(`${client}: fresh and existing configurations, idempotent, check green then red per piece`, () => {
      const { h, project } = vault();
      for (const existing of [{}, EXISTING[client]] as Record<string, string>[]) {
        const dir = project(existing);
        const first = h.run(['agent', 'setup', '--client', client, '--json'], { cwd: dir });
        expect(first.code, first.stderr).toBe(0);
        const out = JSON.parse(first.stdout).clients[0];
        expect(out.envs).toEqual(['dev', 'prod']);
        expect(out.changes.length).toBeGreaterThan(0);
        const files = snapshot(dir);
        // Valid files, coffer's server as asked, the user's entries all kept.
        const all = servers(client, files[MCP_FILE[client]]!);
        expect(all.coffer?.command).toBe(BIN);
        expect(all.coffer?.args).toEqual([
          'mcp',
          '--allow',
          'project/demo/*',
          '--env',
          'dev',
          '--env',
          'prod',
          '--reveal',
          'never',
        ]);
        if (existing[MCP_FILE[client]] !== undefined) {
          for (const [name, s] of Object.entries(servers(client, existing[MCP_FILE[client]]!)))
            expect(all[name]).toEqual(s);
        }
        for (const [f, text] of Object.entries(existing)) {
          if (f.endsWith('.md') || f === '.cursorignore' || f.endsWith('.toml'))
            expect(files[f]!.startsWith(text), f).toBe(true);
        }
        if (client === 'claude-code') {
          const settings = JSON.parse(files['.claude/settings.json']!);
          expect(settings.permissions.deny).toEqual(
            expect.arrayContaining(['Read(./.env)', 'Read(./**/*.pem)', 'Read(~/.coffer/**)']),
          );
          if (existing['.claude/settings.json']) {
            expect(settings.permissions.allow).toEqual(['Bash(npm test)']);
            expect(settings.permissions.deny[0]).toBe('Bash(curl *)');
            expect(settings.hooks.PostToolUse[0].matcher).toBe('Write');
          }
        }
        expect(JSON.stringify(files)).not.toContain(STRIPE);
        expect(JSON.stringify(files)).not.toMatch(/COFFER_(MASTER_KEY|TOKEN|PASSPHRASE)/);

        // A second run changes nothing, byte for byte.
        const again = h.run(['agent', 'setup', '--client', client], { cwd: dir });
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).toContain('already set up: nothing changed');
        expect(snapshot(dir)).toEqual(files);

        const check = h.run(['agent', 'check', '--client', client, '--json'], { cwd: dir });
        expect(check.code, check.stdout).toBe(0);
        expect(JSON.parse(check.stdout).ok).toBe(true);

        // Red for each piece taken away, green again after setup: once, on the existing
        // configuration (the fresh one's pieces are the same, written into no user entries).
        if (Object.keys(existing).length === 0) continue;
        const removals: [string, (t: string) => string][] = [
          [
            MCP_FILE[client],
            (t) =>
              t
                .replace('"coffer":', '"renamed":')
                .replace('[mcp_servers.coffer]', '[mcp_servers.renamed]'),
          ],
          [
            INSTRUCTIONS[client],
            (t) => t.replace(/<!-- coffer:begin[\s\S]*<!-- coffer:end secrets workflow -->\n/, ''),
          ],
        ];
        if (client === 'claude-code') {
          removals.push([
            '.claude/settings.json',
            (t) => t.replace('"Read(./**/*.key)"', '"Read(./x)"'),
          ]);
          removals.push([
            '.claude/settings.json',
            (t) => t.replace(' redact --hook claude-code', ' version'),
          ]);
        }
        if (client === 'cursor') removals.push(['.cursorignore', (t) => t.replace('*.key\n', '')]);
        for (const [file, remove] of removals) {
          writeFileSync(join(dir, file), remove(files[file]!));
          const red = h.run(['agent', 'check', '--client', client], { cwd: dir });
          expect(red.code, `${file}\n${red.stdout}`).toBe(1);
          expect(red.stdout).toContain('MISSING');
          const fix = h.run(['agent', 'setup', '--client', client], { cwd: dir });
          expect(fix.code, fix.stderr).toBe(0);
          expect(h.run(['agent', 'check', '--client', client], { cwd: dir }).code).toBe(0);
        }
      }
    });
  }

  it('refuses a file that does not parse, with file:line, and writes nothing', () => {
    const { h, project } = vault();
    const dir = project({ '.mcp.json': '{\n  "mcpServers": {\n    "a": 1,\n  }\n}\n' });
    const r = h.run(['agent', 'setup', '--client', 'claude-code'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\.mcp\.json:4:3: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'CLAUDE.md'))).toBe(false);
    expect(existsSync(join(dir, '.claude'))).toBe(false);
    const toml = project({ '.codex/config.toml': 'model = "o3"\n[mcp_servers.docs\n' });
    const t = h.run(['agent', 'setup', '--client', 'codex', '--client', 'cursor'], { cwd: toml });
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/config\.toml:2: /);
    expect(existsSync(join(toml, 'AGENTS.md'))).toBe(false);
    expect(existsSync(join(toml, '.cursor'))).toBe(false);
  });

  it('check reports every problem: a missing hook and a personal settings file that does not parse', () => {
    const { h, project } = vault();
    const token = 'coffer_tok_e2eAgentCheckBoth0123456789abc';
    const dir = project();
    const set = h.run(['agent', 'setup', '--client', 'claude-code'], { cwd: dir });
    expect(set.code, set.stderr).toBe(0);
    const settings = join(dir, '.claude/settings.json');
    const { hooks: _hook, ...rest } = JSON.parse(readFileSync(settings, 'utf8'));
    writeFileSync(settings, `${JSON.stringify(rest, null, 2)}\n`);
    // Cut short after a token: the parser stops at the end, one column past the text.
    const cut = `{ "env": { "COFFER_TOKEN": "${token}" } `;
    writeFileSync(join(dir, '.claude/settings.local.json'), cut);
    const invalid = `not valid JSON (line 1, column ${cut.length + 1})`;
    const r = h.run(['agent', 'check', '--client', 'claude-code'], { cwd: dir });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toContain(
      'MISSING output-hook (.claude/settings.json): no PostToolUse hook running coffer redact\n',
    );
    expect(r.stdout).toContain(`INVALID output-hook (.claude/settings.local.json): ${invalid}\n`);
    expect(r.stdout).toContain('Fix the INVALID files');
    expect(r.stdout + r.stderr).not.toContain(token);
    const json = h.run(['agent', 'check', '--client', 'claude-code', '--json'], { cwd: dir });
    expect(json.code).toBe(1);
    const items = JSON.parse(json.stdout).clients[0].items as { piece: string }[];
    expect(items.filter((i) => i.piece === 'output-hook')).toEqual([
      {
        piece: 'output-hook',
        file: '.claude/settings.json',
        status: 'missing',
        detail: 'no PostToolUse hook running coffer redact',
      },
      {
        piece: 'output-hook',
        file: '.claude/settings.local.json',
        status: 'invalid',
        detail: invalid,
      },
    ]);
    expect(json.stdout).not.toContain(token);
  });

  it('check reports a configuration that does not parse as INVALID with its place, never its text', () => {
    const { h, project } = vault();
    const token = 'coffer_tok_e2eAgentCheck0123456789abcdef';
    const dir = project();
    const set = h.run(['agent', 'setup', '--client', 'claude-code', '--client', 'codex'], {
      cwd: dir,
    });
    expect(set.code, set.stderr).toBe(0);
    // Each file with a token beside a syntax error (a parser's message would quote it).
    const broken: [AgentClient, string, string, string, string][] = [
      [
        'claude-code',
        'mcp-server',
        '.mcp.json',
        `{\n  "mcpServers": {\n    "${token}": {},\n    "${token}": {}\n  }\n}\n`,
        'not valid JSON (line 4, column 5)',
      ],
      [
        'claude-code',
        'output-hook',
        '.claude/settings.local.json',
        `{ "env": { "COFFER_TOKEN": "${token}" } `,
        'not valid JSON (line 1, column 73)',
      ],
      [
        'codex',
        'mcp-server',
        '.codex/config.toml',
        `[mcp_servers.coffer]\nenv = { "${token}" = "x" }\n[mcp_servers.coffer]\n`,
        'not valid TOML (line 3, column 1)',
      ],
    ];
    for (const [client, piece, file, text, detail] of broken) {
      const before = readFileSync(join(dir, MCP_FILE[client]), 'utf8');
      writeFileSync(join(dir, file), text);
      const r = h.run(['agent', 'check', '--client', client], { cwd: dir });
      expect(r.code, r.stdout).toBe(1);
      expect(r.stdout).toContain(`INVALID ${piece} (${file}): ${detail}\n`);
      expect(r.stdout).toContain('Fix the INVALID files');
      expect(r.stdout + r.stderr).not.toContain(token);
      const json = h.run(['agent', 'check', '--client', client, '--json'], { cwd: dir });
      const items = JSON.parse(json.stdout).clients[0].items;
      expect(items.find((i: { piece: string }) => i.piece === piece)).toEqual({
        piece,
        file,
        status: 'invalid',
        detail,
      });
      expect(json.stdout).not.toContain(token);
      // Put back: only the broken file made the client red.
      if (file === MCP_FILE[client]) writeFileSync(join(dir, file), before);
      else rmSync(join(dir, file));
      expect(h.run(['agent', 'check', '--client', client], { cwd: dir }).code).toBe(0);
    }
  });

  it('refuses a client file past 1 MiB by name and writes nothing; check counts it unread', () => {
    const { h, project } = vault();
    const dir = project({ 'CLAUDE.md': '# Notes\n', '.codex/config.toml': 'model = "o3"\n' });
    truncateSync(join(dir, 'CLAUDE.md'), 3 * 1024 * 1024 * 1024); // sparse: nothing is written
    truncateSync(join(dir, '.codex/config.toml'), 1024 * 1024 + 1);
    for (const [client, file, what] of [
      ['claude-code', 'CLAUDE.md', 'instructions'],
      ['codex', '.codex/config.toml', 'settings'],
    ] as const) {
      const r = h.run(['agent', 'setup', '--client', client], { cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(
        `${join(dir, file)} is larger than 1 MiB, the limit for an agent's ${what} file`,
      );
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      // check reports a client whose files cannot be read as incomplete, as it always has.
      const check = h.run(['agent', 'check', '--client', client], { cwd: dir });
      expect(check.code, check.stderr).toBe(1);
      expect(check.stdout).toContain(`${client}: incomplete`);
      expect(check.stdout).toContain(`(${file}): ${file} is larger than 1 MiB`);
      expect(check.stdout).not.toContain(dir);
      expect(check.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    expect(existsSync(join(dir, '.mcp.json'))).toBe(false);
    expect(existsSync(join(dir, '.claude'))).toBe(false);
    expect(existsSync(join(dir, 'AGENTS.md'))).toBe(false);
  });

  it.skipIf(!hasMkfifo)(
    'refuses a client file that is a FIFO as not a regular file, never read',
    async () => {
      const { h, project } = vault();
      const dir = project();
      const writer = await startFifoWriter(makeFifo(dir, '.mcp.json'), '{}\n');
      try {
        const r = h.run(['agent', 'setup', '--client', 'claude-code'], { cwd: dir });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(`${join(dir, '.mcp.json')} is not a regular file`);
        const check = h.run(['agent', 'check', '--client', 'claude-code'], { cwd: dir });
        expect(check.code, check.stderr).toBe(1);
      } finally {
        writer.stop();
      }
      expect(existsSync(join(dir, 'CLAUDE.md'))).toBe(false);
    },
  );

  it('refuses a file that leads out of the project through a link; a link inside is fine', () => {
    const { h, project } = vault();
    const outside = project({ 'settings.json': '{}\n' }); // another directory: the user's own
    const dir = project({ 'AGENTS.md': '# Notes\n' });
    symlinkSync(outside, join(dir, '.claude'));
    const r = h.run(['agent', 'setup', '--client', 'claude-code'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('leads out of the project through a symbolic link');
    expect(readFileSync(join(outside, 'settings.json'), 'utf8')).toBe('{}\n');
    expect(existsSync(join(dir, 'CLAUDE.md'))).toBe(false);
    // CLAUDE.md as a link to the project's AGENTS.md: written through it.
    rmSync(join(dir, '.claude'));
    symlinkSync('AGENTS.md', join(dir, 'CLAUDE.md'));
    const ok = h.run(['agent', 'setup', '--client', 'claude-code'], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(join(dir, 'AGENTS.md'), 'utf8')).toContain('coffer:begin');
  });

  it("refuses a link into the repository's .git directory: a clone cannot make setup write git's files", () => {
    const { h, project } = vault();
    const dir = project({});
    expect(spawnSync('git', ['init', '-q', dir]).status).toBe(0);
    const config = readFileSync(join(dir, '.git', 'config'), 'utf8');
    // A cloned repository ships AGENTS.md -> .git/config (inside the project directory).
    symlinkSync('.git/config', join(dir, 'AGENTS.md'));
    const r = h.run(['agent', 'setup', '--client', 'cursor'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("AGENTS.md leads into the repository's .git directory");
    expect(readFileSync(join(dir, '.git', 'config'), 'utf8')).toBe(config);
    expect(existsSync(join(dir, '.cursor'))).toBe(false);
    // A directory link into it: a settings file not there yet would be created in .git.
    rmSync(join(dir, 'AGENTS.md'));
    symlinkSync('.git/hooks', join(dir, '.cursor'));
    const d = h.run(['agent', 'setup', '--client', 'cursor'], { cwd: dir });
    expect(d.code).toBe(2);
    expect(d.stderr).toContain("leads into the repository's .git directory");
    expect(existsSync(join(dir, '.git', 'hooks', 'mcp.json'))).toBe(false);
    expect(existsSync(join(dir, 'AGENTS.md'))).toBe(false);
  });

  it('refuses to replace a read-only file, before writing any', () => {
    const { h, project } = vault();
    const dir = project({ 'AGENTS.md': '# Notes\n' });
    chmodSync(join(dir, 'AGENTS.md'), 0o444);
    const r = h.run(['agent', 'setup', '--client', 'cursor'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('AGENTS.md is read-only');
    expect(readFileSync(join(dir, 'AGENTS.md'), 'utf8')).toBe('# Notes\n');
    expect(statSync(join(dir, 'AGENTS.md')).mode & 0o777).toBe(0o444);
    expect(existsSync(join(dir, '.cursor'))).toBe(false);
    chmodSync(join(dir, 'AGENTS.md'), 0o644);
    expect(h.run(['agent', 'setup', '--client', 'cursor'], { cwd: dir }).code).toBe(0);
  });

  it('--dry-run writes nothing; the client is found from the directory', () => {
    const { h, project } = vault();
    const dir = project({ '.cursor/mcp.json': '{}\n' });
    const r = h.run(['agent', 'setup', '--dry-run', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.clients.map((c: { client: string }) => c.client)).toEqual(['cursor']);
    expect(readFileSync(join(dir, '.cursor/mcp.json'), 'utf8')).toBe('{}\n');
    expect(existsSync(join(dir, 'AGENTS.md'))).toBe(false);
    expect(h.run(['agent', 'setup', '--reveal', 'allow'], { cwd: dir }).code).toBe(2);
  });

  it("a vault outside coffer's default place is named in the entry and the hook: a client without COFFER_HOME opens it", async () => {
    const h = makeHome();
    const team = { COFFER_HOME: join(h.home, 'team-vault') };
    expect(h.run(['init'], { env: team }).code).toBe(0);
    const set = h.run(
      ['set', 'project/demo/stripe_api_key', '-d', 'Stripe API key for payment processing'],
      {
        input: STRIPE,
        env: team,
      },
    );
    expect(set.code, set.stderr).toBe(0);
    const dir = join(h.home, 'app');
    mkdirSync(dir);
    writeFileSync(join(dir, '.coffer'), 'project=demo\n');
    const setup = h.run(['agent', 'setup', '--client', 'claude-code'], { cwd: dir, env: team });
    expect(setup.code, setup.stderr).toBe(0);
    const server = JSON.parse(readFileSync(join(dir, '.mcp.json'), 'utf8')).mcpServers.coffer;
    const vaultFile = join(team.COFFER_HOME, 'vault.db');
    expect(server.args.slice(-2)).toEqual(['--vault', vaultFile]);
    expect(server.env).toBeUndefined(); // a path in the arguments, no variable, no credential
    const settings = JSON.parse(readFileSync(join(dir, '.claude/settings.json'), 'utf8'));
    expect(settings.hooks.PostToolUse[0].hooks[0].command).toContain(`--vault ${vaultFile}`);
    expect(settings.permissions.deny).toContain('Read(~/team-vault/**)');
    // Started as a launcher does: this shell's COFFER_HOME is not there.
    const { COFFER_HOME: _home, ...launcherEnv } = h.env;
    const mcp = new Client({ name: 'agent-setup-e2e', version: '1.0.0' });
    await mcp.connect(
      new StdioClientTransport({
        command: server.command,
        args: server.args,
        env: launcherEnv,
        cwd: dir,
        stderr: 'pipe',
      }),
    );
    try {
      const got = await mcp.callTool({
        name: 'verify_secret',
        arguments: { keyPath: 'project/demo/stripe_api_key' },
      });
      expect(got.isError, JSON.stringify(got)).toBeFalsy();
    } finally {
      await mcp.close();
    }
    // check opens the vault the entry names, whichever COFFER_HOME this shell has, and is
    // idempotent with setup.
    const check = h.run(['agent', 'check', '--client', 'claude-code'], { cwd: dir });
    expect(check.code, check.stdout).toBe(0);
    const again = h.run(['agent', 'setup', '--client', 'claude-code', '--json'], {
      cwd: dir,
      env: team,
    });
    expect(JSON.parse(again.stdout).clients[0].changes).toEqual([]);
  });

  it('the configured server runs and never reveals; the Claude Code hook masks stored values', async () => {
    const { h, project } = vault();
    const dir = project();
    expect(h.run(['agent', 'setup', '--client', 'claude-code'], { cwd: dir }).code).toBe(0);
    const server = JSON.parse(readFileSync(join(dir, '.mcp.json'), 'utf8')).mcpServers.coffer;
    // The client is started from a dock or a launcher: no COFFER_HOME. The vault is in
    // coffer's default place (~/.coffer), so the entry does not name it.
    expect(server.args).not.toContain('--vault');
    const { COFFER_HOME: _home, ...launcherEnv } = h.env;
    const transport = new StdioClientTransport({
      command: server.command,
      args: server.args,
      env: launcherEnv,
      cwd: dir,
      stderr: 'pipe',
    });
    const mcp = new Client({ name: 'agent-setup-e2e', version: '1.0.0' });
    await mcp.connect(transport);
    try {
      const got = await mcp.callTool({
        name: 'get_secret',
        arguments: { keyPath: 'project/demo/stripe_api_key' },
      });
      expect(JSON.stringify(got)).not.toContain(STRIPE);
      expect(JSON.stringify(got)).toContain('"revealed":false');
      const other = await mcp.callTool({
        name: 'list_secrets',
        arguments: { scope: 'project', project: 'other' },
      });
      expect(other.isError).toBe(true);
    } finally {
      await mcp.close();
    }

    // A vault the entry's server could not open without a prompt is reported too: check
    // opens the vault the entry's server would (here coffer's default place), whatever this
    // shell's COFFER_HOME says.
    const vaultFile = join(h.env.COFFER_HOME!, 'vault.db');
    renameSync(vaultFile, `${vaultFile}.away`);
    const noVault = h.run(['agent', 'check'], { cwd: dir });
    renameSync(`${vaultFile}.away`, vaultFile);
    expect(noVault.code).toBe(1);
    expect(noVault.stdout).toMatch(
      /MISSING vault: it does not open without a prompt \(VAULT_NOT_FOUND\)/,
    );
    const elsewhere = h.run(['agent', 'check'], {
      cwd: dir,
      env: { COFFER_HOME: join(h.home, 'nowhere') },
    });
    expect(elsewhere.code, elsewhere.stdout).toBe(0);
    // One that opens only with a master key from this shell is not one the client opens.
    const key = readFileSync(join(h.env.COFFER_HOME!, 'master.key'), 'utf8').trim();
    const fromShell = h.run(['agent', 'check'], { cwd: dir, env: { COFFER_MASTER_KEY: key } });
    expect(fromShell.code).toBe(1);
    expect(fromShell.stdout).toMatch(
      /MISSING vault: it is checked with COFFER_MASTER_KEY from this shell/,
    );
    expect(fromShell.stdout + fromShell.stderr).not.toContain(key);

    const settings = JSON.parse(readFileSync(join(dir, '.claude/settings.json'), 'utf8'));
    const hook = settings.hooks.PostToolUse[0].hooks[0].command as string;
    const runHook = (input: unknown, env = h.env) =>
      spawnSync('sh', ['-c', hook], {
        input: JSON.stringify(input),
        env,
        cwd: dir,
        encoding: 'utf8',
      });
    const b64 = Buffer.from(STRIPE).toString('base64');
    const masked = runHook({
      hook_event_name: 'PostToolUse',
      tool_name: 'Bash',
      tool_input: { command: 'cat .env' },
      tool_response: {
        stdout: `STRIPE_API_KEY=${STRIPE}\nB64=${b64}\n`,
        stderr: '',
        interrupted: false,
      },
    });
    expect(masked.status, masked.stderr).toBe(0);
    expect(masked.stdout).not.toContain(STRIPE);
    expect(masked.stdout).not.toContain(b64);
    const answer = JSON.parse(masked.stdout).hookSpecificOutput;
    expect(answer.hookEventName).toBe('PostToolUse');
    expect(answer.updatedToolOutput.stdout).toMatch(
      /^STRIPE_API_KEY=\[REDACTED\]\nB64=\[REDACTED\]/,
    );
    expect(answer.updatedToolOutput.interrupted).toBe(false);
    // Nothing to mask: no answer, the output stays as it is.
    const clean = runHook({
      tool_name: 'mcp__coffer__list_secrets',
      tool_response: { content: [{ type: 'text', text: 'names only' }] },
    });
    expect(clean.status).toBe(0);
    expect(clean.stdout).toBe('');
    // The values cannot be loaded: the output is withheld, not passed on.
    const closed = runHook(
      { tool_name: 'mcp__x__y', tool_response: STRIPE },
      { ...h.env, COFFER_HOME: join(h.home, 'nowhere') },
    );
    expect(closed.status).toBe(0);
    expect(closed.stdout).not.toContain(STRIPE);
    expect(JSON.parse(closed.stdout).hookSpecificOutput.updatedMCPToolOutput).toMatch(/withheld/);

    // The same masking on a pipe.
    const piped = h.run(['redact', '--env', 'prod'], { cwd: dir, input: `key ${STRIPE} end\n` });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toBe('key [REDACTED] end\n');
  });
});
