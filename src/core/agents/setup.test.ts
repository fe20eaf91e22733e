import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AGENT_CLIENTS, type AgentClient, CLIENTS } from './clients.js';
import { jsonValue, parseJsonTree } from './json-edit.js';
import {
  type AgentSetupInput,
  checkAgentSetup,
  claudeDenyRules,
  IGNORE_MARKERS,
  planAgentSetup,
  redactHookCommand,
  shellQuote,
} from './setup.js';
import { parseToml, renderTomlTable } from './toml-edit.js';
import { INSTRUCTIONS_MARKERS } from './workflow.js';

const HOME = '/home/ann';
const COFFER_HOME = '/home/ann/.coffer';
const COMMAND = '/usr/local/bin/coffer';

function input(client: AgentClient, files: Record<string, string | undefined>): AgentSetupInput {
  return {
    client,
    project: 'consilio',
    envs: ['dev', 'prod'],
    command: COMMAND,
    cofferHome: COFFER_HOME,
    homeDir: HOME,
    files,
  };
}

/** The files after setup: the input with the plan's changes applied. */
function apply(
  client: AgentClient,
  files: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const out = { ...files };
  for (const c of planAgentSetup(input(client, files)).changes) out[c.file] = c.after;
  return out;
}

function check(client: AgentClient, files: Record<string, string | undefined>) {
  return checkAgentSetup({
    client,
    cofferHome: COFFER_HOME,
    homeDir: HOME,
    files,
    isExecutable: (p) => p === COMMAND,
  });
}

/** The servers of an MCP configuration file, whatever its format. */
function servers(client: AgentClient, text: string): Record<string, unknown> {
  const spec = CLIENTS[client];
  if (spec.mcpFormat === 'toml') {
    const out: Record<string, Record<string, unknown>> = {};
    for (const k of parseToml(text, 'f').keys) {
      if (k.path[0] !== 'mcp_servers') continue;
      out[k.path[1]!] ??= {};
      out[k.path[1]!]![k.path.slice(2).join('.')] = k.value;
    }
    return out;
  }
  return (
    jsonValue(parseJsonTree(text, 'f', { jsonc: spec.jsonc })) as Record<
      string,
      Record<string, unknown>
    >
  )[spec.serversKey]!;
}

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,9}$/).filter((n) => n !== 'coffer');
const word = fc.string({ maxLength: 10 });
const otherServers = fc.dictionary(
  name,
  fc.record({ command: word, args: fc.array(word, { maxLength: 3 }) }),
  {
    maxKeys: 3,
  },
);
const indent = fc.constantFrom('  ', '    ', '\t');

/** Existing files of a client: other servers, other settings, the user's own instructions. */
function existing(client: AgentClient) {
  return fc
    .record({
      others: otherServers,
      indent,
      allow: fc.array(word, { maxLength: 3 }),
      deny: fc.array(fc.constantFrom('Read(./secrets/**)', 'Bash(curl *)', 'Read(./.env)'), {
        maxLength: 2,
      }),
      hook: fc.boolean(),
      notes: fc.string({ maxLength: 40 }).map((s) => s.replace(/<!--|#/g, '')),
    })
    .map(({ others, indent, allow, deny, hook, notes }) => {
      const spec = CLIENTS[client];
      const files: Record<string, string | undefined> = {};
      if (spec.mcpFormat === 'toml') {
        files[spec.mcpFile] = `model = "o3"\n${Object.entries(others)
          .map(
            ([n, s]) =>
              `\n${renderTomlTable(
                ['mcp_servers', n],
                [
                  ['command', s.command],
                  ['args', s.args],
                ],
              )}`,
          )
          .join('')}`;
      } else {
        const body = {
          [spec.serversKey]: others,
          ...(spec.jsonc ? {} : { other: { keep: true } }),
        };
        const text = `${JSON.stringify(body, null, indent)}\n`;
        files[spec.mcpFile] = spec.jsonc ? `// my servers\n${text}` : text;
      }
      if (spec.readDeny.kind === 'claude-settings') {
        const settings = {
          permissions: { allow, deny: [...new Set(deny)] },
          ...(hook
            ? {
                hooks: {
                  PostToolUse: [
                    { matcher: 'Write', hooks: [{ type: 'command', command: 'prettier --write' }] },
                  ],
                },
              }
            : {}),
          model: 'opus',
        };
        files[spec.readDeny.file] = `${JSON.stringify(settings, null, indent)}\n`;
      } else if (spec.readDeny.kind === 'ignore-file') {
        files[spec.readDeny.file] = 'node_modules/\ndist/\n';
      }
      files[spec.instructionsFile] = `# My project\n\n${notes}\n`;
      return files;
    });
}

describe('agent setup', () => {
  for (const client of AGENT_CLIENTS) {
    describe(client, () => {
      const spec = CLIENTS[client];

      it('on a fresh project: every piece the client has, valid files, check green, a rerun changes nothing', () => {
        const after = apply(client, {});
        const plan = planAgentSetup(input(client, {}));
        expect(plan.changes.every((c) => c.created)).toBe(true);
        expect(servers(client, after[spec.mcpFile]!).coffer).toEqual({
          ...(spec.typeStdio ? { type: 'stdio' } : {}),
          command: COMMAND,
          args: [
            'mcp',
            '--allow',
            'project/consilio/*',
            '--env',
            'dev',
            '--env',
            'prod',
            '--reveal',
            'never',
          ],
        });
        expect(planAgentSetup(input(client, after)).changes).toEqual([]);
        const report = check(client, after);
        expect(report.ok).toBe(true);
        expect(report.project).toBe('consilio');
        expect(report.items.map((i) => i.status)).not.toContain('missing');
        // No credential of coffer's anywhere in what is written.
        for (const text of Object.values(after))
          expect(text).not.toMatch(/COFFER_(MASTER_KEY|TOKEN|PASSPHRASE)/);
      });

      it('on existing files: their entries and bytes kept, idempotent, check green', () => {
        fc.assert(
          fc.property(existing(client), (files) => {
            const after = apply(client, files);
            // Every file only grew or changed in coffer's own parts: the others are all there.
            const all = servers(client, after[spec.mcpFile]!);
            for (const [n, s] of Object.entries(servers(client, files[spec.mcpFile]!)))
              expect(all[n]).toEqual(s);
            if (spec.mcpFormat === 'json' && !spec.jsonc) {
              expect(JSON.parse(after[spec.mcpFile]!).other).toEqual({ keep: true });
            }
            if (spec.readDeny.kind === 'claude-settings') {
              const before = JSON.parse(files[spec.readDeny.file]!);
              const now = JSON.parse(after[spec.readDeny.file]!);
              expect(now.model).toBe('opus');
              expect(now.permissions.allow).toEqual(before.permissions.allow);
              expect(now.permissions.deny.slice(0, before.permissions.deny.length)).toEqual(
                before.permissions.deny,
              );
              expect(now.permissions.deny).toEqual(
                expect.arrayContaining(claudeDenyRules(COFFER_HOME, HOME)),
              );
              expect(now.hooks.PostToolUse.slice(0, before.hooks?.PostToolUse.length ?? 0)).toEqual(
                before.hooks?.PostToolUse ?? [],
              );
            }
            if (spec.readDeny.kind === 'ignore-file') {
              expect(after[spec.readDeny.file]!.startsWith('node_modules/\ndist/\n')).toBe(true);
            }
            expect(after[spec.instructionsFile]!.startsWith(files[spec.instructionsFile]!)).toBe(
              true,
            );
            expect(planAgentSetup(input(client, after)).changes).toEqual([]);
            expect(check(client, after).ok).toBe(true);
          }),
          { numRuns: 40 },
        );
      });

      it('check is red for each piece removed', () => {
        const after = apply(client, {});
        const red = (files: Record<string, string | undefined>, piece: string) => {
          const r = check(client, files);
          expect(r.ok).toBe(false);
          expect(r.items.filter((i) => i.status === 'missing').map((i) => i.piece)).toContain(
            piece,
          );
        };
        red({ ...after, [spec.mcpFile]: undefined }, 'mcp-server');
        const mcp = after[spec.mcpFile]!;
        red(
          {
            ...after,
            [spec.mcpFile]: mcp.replace(/"?never"?\]?\n/, (m) => m.replace('never', 'allow')),
          },
          'mcp-server',
        );
        red({ ...after, [spec.mcpFile]: mcp.replace(COMMAND, '/nowhere/coffer') }, 'mcp-server');
        red(
          { ...after, [spec.mcpFile]: mcp.replace('project/consilio/*', 'project/**') },
          'mcp-server',
        );
        red({ ...after, [spec.instructionsFile]: undefined }, 'instructions');
        red(
          {
            ...after,
            [spec.instructionsFile]: after[spec.instructionsFile]!.replace(
              'request_secret',
              'set_secret',
            ),
          },
          'instructions',
        );
        if (spec.readDeny.kind === 'claude-settings') {
          const s = after[spec.readDeny.file]!;
          red(
            { ...after, [spec.readDeny.file]: s.replace('"Read(./**/*.pem)",', '') },
            'read-deny',
          );
          red(
            { ...after, [spec.readDeny.file]: s.replace('"Read(~/.coffer/**)"', '"Read(./x)"') },
            'read-deny',
          );
          const settings = JSON.parse(s);
          delete settings.hooks;
          red({ ...after, [spec.readDeny.file]: JSON.stringify(settings) }, 'output-hook');
          settings.hooks = {
            PostToolUse: [
              {
                matcher: 'Bash',
                hooks: [{ type: 'command', command: redactHookCommand(COMMAND, 'other', ['dev']) }],
              },
            ],
          };
          red({ ...after, [spec.readDeny.file]: JSON.stringify(settings) }, 'output-hook');
        } else if (spec.readDeny.kind === 'ignore-file') {
          red({ ...after, [spec.readDeny.file]: undefined }, 'read-deny');
          red(
            { ...after, [spec.readDeny.file]: after[spec.readDeny.file]!.replace('*.pem\n', '') },
            'read-deny',
          );
        } else {
          // Not available, and the reason is the client's read limit, said plainly.
          const item = check(client, after).items.find((i) => i.piece === 'read-deny');
          expect(item?.status).toBe('not-available');
          expect(item?.detail).toMatch(/denies reads only|no workspace setting/);
        }
        if (spec.outputHook.kind === 'none') {
          const item = check(client, after).items.find((i) => i.piece === 'output-hook');
          expect(item?.status).toBe('not-available');
          expect(item?.detail).toMatch(/hooks can(not)? .*(rewrite|replace)/);
        }
      });

      it('a credential in the server entry is reported', () => {
        const after = apply(client, {});
        const text =
          spec.mcpFormat === 'toml'
            ? `${after[spec.mcpFile]}[mcp_servers.coffer.env]\nCOFFER_MASTER_KEY = "abc"\n`
            : after[spec.mcpFile]!.replace(
                '"command"',
                '"env": { "COFFER_MASTER_KEY": "abc" },\n      "command"',
              );
        const r = check(client, { ...after, [spec.mcpFile]: text });
        expect(r.items.find((i) => i.piece === 'mcp-server')?.detail).toMatch(
          /credentials \(COFFER_MASTER_KEY\)/,
        );
        // Setup puts the entry back without it.
        expect(check(client, apply(client, { ...after, [spec.mcpFile]: text })).ok).toBe(true);
      });

      it.each([
        // Every credential coffer run withholds from programs, in any case.
        ['COFFER_MASTER_KEY', 'credentials'],
        ['COFFER_DATABASE_URL', 'credentials'],
        ['COFFER_BACKUP_PASSPHRASE', 'credentials'],
        ['coffer_token', 'credentials'],
        ['Coffer_Passphrase', 'credentials'],
        ['COFFER_KEY_FILE', 'credentials'],
        // Another vault or server than the one setup chose.
        ['COFFER_URL', 'the vault or server'],
        ['COFFER_HOME', 'the vault or server'],
        ['coffer_url', 'the vault or server'],
        ['COFFER_INSECURE_HTTP', 'the vault or server'],
      ])('an entry whose env sets %s is reported by name, never its value', (name, why) => {
        const value = 'sentinel-value-Jx82';
        const after = apply(client, {});
        const text =
          spec.mcpFormat === 'toml'
            ? `${after[spec.mcpFile]}[mcp_servers.coffer.env]\n${name} = "${value}"\n`
            : after[spec.mcpFile]!.replace(
                '"command"',
                `"env": { "${name}": "${value}" },\n      "command"`,
              );
        expect(text).not.toBe(after[spec.mcpFile]);
        const item = check(client, { ...after, [spec.mcpFile]: text }).items.find(
          (i) => i.piece === 'mcp-server',
        );
        expect(item?.status).toBe('missing');
        expect(item?.detail).toContain(name);
        expect(item?.detail).toContain(why);
        expect(JSON.stringify(item)).not.toContain(value);
        // Setup puts the entry back without it.
        const fixed = apply(client, { ...after, [spec.mcpFile]: text });
        expect(fixed[spec.mcpFile]).not.toContain(value);
        expect(check(client, fixed).ok).toBe(true);
      });

      it("keeps the user's own settings in coffer's entry; a switched-off entry is red, then switched on", () => {
        const first = apply(client, {});
        const mcp = first[spec.mcpFile]!;
        // An older entry (other arguments) with the user's log level and a timeout.
        const old =
          spec.mcpFormat === 'toml'
            ? `${mcp.replace('"--reveal", "never"', '"--reveal", "allow"')}startup_timeout_sec = 30\n[mcp_servers.coffer.env]\nCOFFER_LOG_LEVEL = "warn"\n`
            : mcp
                .replace('"never"', '"allow"')
                .replace('"command"', '"env": { "COFFER_LOG_LEVEL": "warn" },\n      "command"');
        const after = apply(client, { ...first, [spec.mcpFile]: old });
        const entry = servers(client, after[spec.mcpFile]!).coffer as Record<string, unknown>;
        if (spec.mcpFormat === 'toml') {
          expect(entry['env.COFFER_LOG_LEVEL']).toBe('warn');
          expect(entry.startup_timeout_sec).toBe('30');
        } else expect(entry.env).toEqual({ COFFER_LOG_LEVEL: 'warn' });
        expect((entry.args as string[]).slice(-2)).toEqual(['--reveal', 'never']);
        expect(check(client, after).ok).toBe(true);
        expect(apply(client, after)).toEqual(after);
        // Switched off by the user: red, and setup switches it on again.
        const off =
          spec.mcpFormat === 'toml'
            ? after[spec.mcpFile]!.replace('startup_timeout_sec = 30\n', 'enabled = false\n')
            : after[spec.mcpFile]!.replace('"command"', '"disabled": true,\n      "command"');
        expect(off).not.toBe(after[spec.mcpFile]);
        const item = check(client, { ...after, [spec.mcpFile]: off }).items.find(
          (i) => i.piece === 'mcp-server',
        );
        expect(item?.detail).toMatch(/switched off/);
        const on = apply(client, { ...after, [spec.mcpFile]: off });
        expect(check(client, on).ok).toBe(true);
      });

      it('a setting that may change how coffer starts (envFile, env_vars) is red and removed by setup', () => {
        const after = apply(client, {});
        const mcp = after[spec.mcpFile]!;
        const loaded =
          spec.mcpFormat === 'toml'
            ? `${mcp}env_vars = ["NODE_OPTIONS"]\n`
            : mcp.replace('"command"', '"envFile": "/home/ann/app/.env",\n      "command"');
        expect(loaded).not.toBe(mcp);
        const item = check(client, { ...after, [spec.mcpFile]: loaded }).items.find(
          (i) => i.piece === 'mcp-server',
        );
        expect(item?.status).toBe('missing');
        expect(item?.detail).toMatch(/may change how coffer starts \((env_vars|envFile)\)/);
        const fixed = apply(client, { ...after, [spec.mcpFile]: loaded });
        expect(fixed[spec.mcpFile]).not.toMatch(/envFile|env_vars/);
        expect(check(client, fixed).ok).toBe(true);
      });

      it('check is red for an entry widened after setup (an extra option, code loading)', () => {
        const after = apply(client, {});
        const mcp = after[spec.mcpFile]!;
        const widened = [
          // Commander reads --opt=value and lets the last --reveal win.
          mcp.replace('"never"', '"never", "--reveal=allow"'),
          mcp.replace('"never"', '"never", "--allow=*"'),
          mcp.replace('"--reveal"', '"--read-only", "--reveal"'),
          spec.mcpFormat === 'toml'
            ? `${mcp}[mcp_servers.coffer.env]\nNODE_OPTIONS = "--require /tmp/evil.js"\n`
            : mcp.replace(
                '"command"',
                '"env": { "NODE_OPTIONS": "--require /tmp/evil.js" },\n      "command"',
              ),
        ];
        if (spec.mcpFormat !== 'toml') {
          widened.push(
            mcp.replace('"command"', '"url": "https://evil.example/mcp",\n      "command"'),
          );
        }
        for (const text of widened) {
          expect(text).not.toBe(mcp);
          const item = check(client, { ...after, [spec.mcpFile]: text }).items.find(
            (i) => i.piece === 'mcp-server',
          );
          expect(item?.status, text).toBe('missing');
        }
      });

      it('refuses a broken file with file:line and plans nothing', () => {
        const broken =
          spec.mcpFormat === 'toml'
            ? 'model = "o3"\n[mcp_servers.x\n'
            : '{\n  "servers": {\n    "a": 1,\n    "b"\n  }\n}\n';
        expect(() => planAgentSetup(input(client, { [spec.mcpFile]: broken }))).toThrow(
          new RegExp(`^${spec.mcpFile.replace(/\./g, '\\.')}:\\d+`),
        );
        expect(check(client, { [spec.mcpFile]: broken }).items[0]).toMatchObject({
          piece: 'mcp-server',
          status: 'invalid',
        });
      });

      it('check reports an MCP file that does not parse as invalid, with its place and none of its text', () => {
        const after = apply(client, {});
        const token = 'coffer_tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
        // A token next to a syntax error, where a parser's message would quote it; VS Code's
        // JSONC comments and trailing commas stay valid and the error is elsewhere.
        const broken =
          spec.mcpFormat === 'toml'
            ? `[mcp_servers.x]\nenv = { COFFER_TOKEN = "${token}" }\n[mcp_servers.x]\n`
            : `{\n${spec.jsonc ? '  // a note\n' : ''}  "${spec.serversKey}": {\n    "${token}": 1,\n    "${token}": 2${spec.jsonc ? ',' : ''}\n  }\n}\n`;
        const report = check(client, { ...after, [spec.mcpFile]: broken });
        const item = report.items.find((i) => i.piece === 'mcp-server');
        expect(item).toEqual({
          piece: 'mcp-server',
          file: spec.mcpFile,
          status: 'invalid',
          detail:
            spec.mcpFormat === 'toml'
              ? 'not valid TOML (line 3, column 1)'
              : `not valid JSON (line ${spec.jsonc ? 5 : 4}, column 5)`,
        });
        expect(report.ok).toBe(false);
        expect(JSON.stringify(report)).not.toContain(token);
        // A file that is there but cannot be read is invalid too, never "no coffer server".
        const unread = checkAgentSetup({
          client,
          cofferHome: COFFER_HOME,
          homeDir: HOME,
          files: { ...after, [spec.mcpFile]: undefined },
          unreadable: { [spec.mcpFile]: `${spec.mcpFile} is not a regular file` },
          isExecutable: (p) => p === COMMAND,
        });
        expect(unread.items.find((i) => i.piece === 'mcp-server')).toMatchObject({
          status: 'invalid',
          detail: `${spec.mcpFile} is not a regular file`,
        });
        expect(unread.ok).toBe(false);
      });
    });
  }

  it("keeps the user's own hooks that share a group with an old coffer hook", () => {
    const file = '.claude/settings.json';
    const mine = { type: 'command', command: './my-audit.sh' };
    const settings = {
      hooks: {
        PostToolUse: [
          {
            matcher: 'Bash',
            hooks: [
              { type: 'command', command: redactHookCommand(COMMAND, 'other', ['dev']) },
              mine,
            ],
          },
        ],
      },
    };
    const after = apply('claude-code', { [file]: `${JSON.stringify(settings, null, 2)}\n` });
    const groups = JSON.parse(after[file]!).hooks.PostToolUse as {
      matcher: string;
      hooks: unknown[];
    }[];
    expect(groups[0]).toEqual(settings.hooks.PostToolUse[0]); // untouched
    expect(groups).toHaveLength(2);
    expect(check('claude-code', after).items.find((i) => i.piece === 'output-hook')?.status).toBe(
      'ok',
    );
    expect(apply('claude-code', after)).toEqual(after);
  });

  it('check is red when a settings file switches every hook off, the personal one included', () => {
    const after = apply('claude-code', {});
    expect(check('claude-code', after).ok).toBe(true);
    const settings = '.claude/settings.json';
    const local = '.claude/settings.local.json';
    const hookItem = (files: Record<string, string | undefined>) =>
      check('claude-code', files).items.find((i) => i.piece === 'output-hook');
    for (const [file, text] of [
      [local, '{ "disableAllHooks": true }\n'],
      [settings, after[settings]!.replace(/^\{/, '{ "disableAllHooks": true,')],
    ] as const) {
      const item = hookItem({ ...after, [file]: text });
      expect(item).toMatchObject({ status: 'missing', file });
      expect(item?.detail).toMatch(/disableAllHooks/);
    }
    // false, or other personal settings, leave it green; setup never writes the personal file.
    expect(
      hookItem({ ...after, [local]: '{ "disableAllHooks": false, "model": "x" }' }),
    ).toMatchObject({
      status: 'ok',
    });
    expect(planAgentSetup(input('claude-code', {})).changes.map((c) => c.file)).not.toContain(
      local,
    );
    // A broken personal file is reported, not thrown.
    expect(hookItem({ ...after, [local]: '{ "disableAllHooks": tru' })).toMatchObject({
      status: 'invalid',
      file: local,
      detail: 'not valid JSON (line 1, column 22)',
    });
  });

  it('check reports every problem of the hook: a missing hook and a broken or switching-off personal file both', () => {
    const after = apply('claude-code', {});
    const settings = '.claude/settings.json';
    const local = '.claude/settings.local.json';
    const token = 'coffer_tok_0a1b2c3d4e5f60718293a4b5c6d7e8f9';
    const noHook = JSON.stringify({ ...JSON.parse(after[settings]!), hooks: {} });
    const hookItems = (files: Record<string, string | undefined>) =>
      check('claude-code', files).items.filter((i) => i.piece === 'output-hook');
    const missingHook = {
      piece: 'output-hook',
      file: settings,
      status: 'missing',
      detail: 'no PostToolUse hook running coffer redact',
    };
    // Cut short after a token: the parser stops at the end, one column past the text.
    const cut = `{ "env": { "COFFER_TOKEN": "${token}" } `;
    const brokenLocal = {
      piece: 'output-hook',
      file: local,
      status: 'invalid',
      detail: `not valid JSON (line 1, column ${cut.length + 1})`,
    };
    const report = check('claude-code', { ...after, [settings]: noHook, [local]: cut });
    expect(report.items.filter((i) => i.piece === 'output-hook')).toEqual([
      missingHook,
      brokenLocal,
    ]);
    expect(report.ok).toBe(false);
    expect(JSON.stringify(report)).not.toContain(token);
    // Both settings files broken: each is named.
    expect(hookItems({ ...after, [settings]: '{ "hooks": ', [local]: '{' })).toEqual([
      { ...missingHook, status: 'invalid', detail: 'not valid JSON (line 1, column 12)' },
      { ...brokenLocal, detail: 'not valid JSON (line 1, column 2)' },
    ]);
    // Hooks switched off in both files, the hook itself in place: one item for each file.
    const off = (file: string) => ({
      piece: 'output-hook',
      file,
      status: 'missing',
      detail: 'disableAllHooks is true: no hook runs, coffer redact included',
    });
    expect(
      hookItems({
        ...after,
        [settings]: after[settings]!.replace(/^\{/, '{ "disableAllHooks": true,'),
        [local]: '{ "disableAllHooks": true }',
      }),
    ).toEqual([off(settings), off(local)]);
  });

  it('check reports a Claude settings file that does not parse as invalid, naming no key of it', () => {
    const after = apply('claude-code', {});
    const file = '.claude/settings.json';
    const token = 'coffer_tok_0a1b2c3d4e5f60718293a4b5c6d7e8f9';
    const broken = after[file]!.replace(/^\{/, `{ "${token}": 1, "${token}": 2,`);
    const report = check('claude-code', { ...after, [file]: broken });
    for (const piece of ['read-deny', 'output-hook'] as const) {
      expect(report.items.find((i) => i.piece === piece)).toEqual({
        piece,
        file,
        status: 'invalid',
        detail: expect.stringMatching(/^not valid JSON \(line 1, column \d+\)$/),
      });
    }
    expect(report.ok).toBe(false);
    expect(JSON.stringify(report)).not.toContain(token);
  });

  it('check is red for a .cursorignore negation after the block that re-includes its files', () => {
    const after = apply('cursor', { '.cursorignore': 'node_modules/\n' });
    const text = after['.cursorignore']!;
    const readDeny = (t: string) =>
      check('cursor', { ...after, '.cursorignore': t }).items.find((i) => i.piece === 'read-deny');
    expect(readDeny(text)?.status).toBe('ok');
    const lines = text.split('\n').length; // the line after the file's last newline
    for (const negation of [
      '!.env',
      '!/.env.local',
      '!config/*.pem',
      '!*.ke?',
      '!**',
      '!.env*',
      '!*.[kp]e[my]',
    ]) {
      const item = readDeny(`${text}${negation}\n`);
      expect(item, negation).toMatchObject({ status: 'missing' });
      expect(item?.detail).toContain(`line ${lines} (${negation})`);
    }
    // Before the block a negation is overruled; after it, one for other files is harmless.
    for (const t of [`!.env\n${text}`, `${text}!.env.example\n!dist/keep.txt\n\\!.env\n`])
      expect(readDeny(t)?.status, t).toBe('ok');
  });

  it('instructions and ignore blocks are replaced in place, and broken markers refused', () => {
    const files = {
      'CLAUDE.md': `# Top\n\n${INSTRUCTIONS_MARKERS.begin}\nold text\n${INSTRUCTIONS_MARKERS.end}\n\n# Bottom\n`,
    };
    const after = apply('claude-code', files)['CLAUDE.md']!;
    expect(after.startsWith('# Top\n\n')).toBe(true);
    expect(after.endsWith(`${INSTRUCTIONS_MARKERS.end}\n\n# Bottom\n`)).toBe(true);
    expect(after).not.toContain('old text');
    expect(() =>
      planAgentSetup(input('claude-code', { 'CLAUDE.md': `${INSTRUCTIONS_MARKERS.begin}\nx\n` })),
    ).toThrow(/^CLAUDE\.md:1: coffer's block markers are broken/);
    expect(() =>
      planAgentSetup(
        input('cursor', { '.cursorignore': `${IGNORE_MARKERS.end}\n${IGNORE_MARKERS.begin}\n` }),
      ),
    ).toThrow(/^\.cursorignore:1:/);
  });

  it("quotes the hook command for the shell and names coffer's home outside HOME absolutely", () => {
    expect(shellQuote("/opt/my coffer/it's")).toBe("'/opt/my coffer/it'\\''s'");
    expect(redactHookCommand('/a b/coffer', 'p', ['dev'])).toBe(
      "'/a b/coffer' redact --hook claude-code --project p --env dev",
    );
    expect(claudeDenyRules('/srv/coffer', HOME)).toContain('Read(//srv/coffer/**)');
  });
});
