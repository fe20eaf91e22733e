/**
 * `coffer agent setup` and `coffer agent check`: registers `coffer mcp` (one project, its
 * environments, values never revealed) in a coding agent's MCP configuration, keeps the agent
 * out of secret files where the client can, installs the output-masking hook where the client
 * allows one, and writes the store-first workflow into its project instructions. The rules
 * are core/agents' (pure: text in, text out); this file reads and writes the files.
 */
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { assertClientFileInProject, readClientFile } from '../../core/agents/client-files.js';
import {
  AGENT_CLIENTS,
  type AgentClient,
  clientFiles,
  parseAgentClient,
} from '../../core/agents/clients.js';
import {
  type AgentCheckReport,
  type AgentSetupPlan,
  type CheckItem,
  checkAgentSetup,
  credentialsInEnvironment,
  planAgentSetup,
  type VaultLocation,
} from '../../core/agents/setup.js';
import { CofferError } from '../../core/errors.js';
import { readOnlyRefusal, writeSecretFile } from '../../core/files.js';
import { parseEnvironment } from '../../core/paths.js';
import { action, type CommonOptions } from '../action.js';
import {
  databaseUrl,
  type GlobalOptions,
  keyFilePath,
  vaultPath,
  withService,
} from '../context.js';
import { envOf } from '../env-option.js';
import { printJson, writeOut } from '../output.js';
import { collect, resolveProject } from '../project-file.js';

interface AgentOptions extends CommonOptions {
  client?: string[];
  project?: string;
  reveal?: string;
  dryRun?: boolean;
}

/** Where a client's presence shows in a project directory (for the default --client). */
const MARKS: Record<AgentClient, string[]> = {
  'claude-code': ['.claude', '.mcp.json', 'CLAUDE.md'],
  codex: ['.codex'],
  cursor: ['.cursor', '.cursorignore'],
  vscode: ['.vscode'],
};

/** The clients named by --client, else those the directory shows, else Claude Code. */
function clientsOf(flags: string[] | undefined, dir: string): AgentClient[] {
  if (flags !== undefined && flags.length > 0) {
    return [
      ...new Set(
        flags.map((f) => {
          const c = parseAgentClient(f);
          if (c === undefined) {
            throw new CofferError('USAGE', `unknown client "${f}"`, {
              hint: `Clients: ${AGENT_CLIENTS.join(', ')}.`,
            });
          }
          return c;
        }),
      ),
    ];
  }
  const found = AGENT_CLIENTS.filter((c) => MARKS[c].some((m) => existsSync(join(dir, m))));
  return found.length > 0 ? found : ['claude-code'];
}

/** The current text of a client's files (undefined: the file does not exist). */
function readFiles(dir: string, client: AgentClient): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const file of clientFiles(client)) {
    assertClientFileInProject(dir, file);
    out[file] = readClientFile(join(dir, file), file);
  }
  return out;
}

/**
 * A client's files for `agent check`: the text of each one read, and why for each one that is
 * there but cannot be read (a link out of the project, not a regular file, past its cap, not
 * UTF-8), named by its project-relative name. One such file leaves the others checked.
 */
function readCheckFiles(
  dir: string,
  client: AgentClient,
): { files: Record<string, string | undefined>; unreadable: Record<string, string> } {
  const files: Record<string, string | undefined> = {};
  const unreadable: Record<string, string> = {};
  for (const file of clientFiles(client, true)) {
    try {
      assertClientFileInProject(dir, file);
      files[file] = readClientFile(join(dir, file), file);
    } catch (err) {
      if (!(err instanceof CofferError)) throw err;
      unreadable[file] = err.message.split(join(dir, file)).join(file);
    }
  }
  return { files, unreadable };
}

/** How `agent check` marks each status (INVALID: the file is there but does not parse). */
const STATUS_MARK: Record<CheckItem['status'], string> = {
  ok: 'ok     ',
  missing: 'MISSING',
  invalid: 'INVALID',
  'not-available': 'n/a    ',
};

/** The absolute path of the coffer binary running now (what the client is to start). */
function cofferBinary(): string {
  return resolve(process.argv[1] ?? 'coffer');
}

/** The environments the agent gets: --env, else those the vault holds for the project. */
async function environments(g: GlobalOptions, project: string, flags: string[]): Promise<string[]> {
  if (flags.length > 0) return [...new Set(flags.map((e) => parseEnvironment(e)))];
  const first = envOf({}, project);
  let found: string[] = [];
  try {
    found = await withService({ ...g, noPrompt: true }, async (s) =>
      (await s.list({ prefix: `project/${project}` })).map((x) => x.env),
    );
  } catch {
    // No vault yet (or a server that cannot list every environment): the default environment.
  }
  return [...new Set([first, ...found.sort()])];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Refuses to change a file its owner made read-only: the atomic write replaces the file
 * (a rename needs only the directory), so the mode alone would not stop it.
 */
function assertWritable(path: string): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st !== undefined && (st.mode & 0o200) === 0) {
    // The rule of every file coffer writes (files.ts), checked here before any is written.
    throw readOnlyRefusal(
      path,
      'Make it writable (chmod u+w), or add what --dry-run shows by hand; nothing was written.',
    );
  }
}

/** Writes a file atomically, keeping an existing file's mode (new files: 0644). */
function writeFile(path: string, text: string): void {
  const target = existsSync(path) ? realpathSync(path) : path;
  const mode = existsSync(target) ? statSync(target).mode & 0o777 : 0o644;
  writeSecretFile(target, text, { overwrite: true, mode });
}

/** Whether the vault opens as the client will start coffer: no terminal, no prompt. */
/** coffer's default vault file, which an entry without --vault opens. */
const defaultVault = (): string => join(homedir(), '.coffer', 'vault.db');

/**
 * Where the vault is, as an agent's entry must say it: nothing for coffer's default place,
 * else the vault file (and a key file that is not beside it). A client started from a dock
 * or a launcher does not have this shell's COFFER_HOME.
 */
function entryLocation(g: GlobalOptions): VaultLocation {
  // A PostgreSQL vault (COFFER_DATABASE_URL) has no file to name; its URL may hold a password,
  // so it stays out of the client's file: the client must be started with it in its env.
  if (databaseUrl() !== undefined) return {};
  const vault = vaultPath(g);
  const keyFile = keyFilePath(g);
  return {
    ...(vault !== defaultVault() ? { vault } : {}),
    ...(keyFile !== join(dirname(vault), 'master.key') ? { keyFile } : {}),
  };
}

async function vaultOpens(g: GlobalOptions): Promise<CheckItem> {
  const creds = credentialsInEnvironment(process.env);
  if (creds.length > 0) {
    return {
      piece: 'vault',
      status: 'missing',
      detail: `it is checked with ${creds.join(' and ')} from this shell, which the client must not get (the agent's shell would inherit it): keep the key in coffer's key file (coffer init) and unset it`,
    };
  }
  try {
    await withService({ ...g, noPrompt: true }, async (s) =>
      s.list({ prefix: 'project', env: 'dev' }),
    );
    return { piece: 'vault', status: 'ok', detail: 'opens without a prompt' };
  } catch (err) {
    const code = err instanceof CofferError ? err.code : 'INTERNAL';
    return {
      piece: 'vault',
      status: 'missing',
      detail: `it does not open without a prompt (${code}): the server and the hook would fail`,
    };
  }
}

export function agentCommand(program: Command): void {
  const agent = program
    .command('agent')
    .description(
      'set up a coding agent (Claude Code, Codex, Cursor, VS Code) to use coffer without seeing values',
    )
    .addHelpText(
      'after',
      `
Examples:
  coffer agent setup --client claude-code --project consilio --env dev
  coffer agent check`,
    );
  agent
    .command('setup')
    .description(
      "register coffer mcp in a client's config, keep secret files from the agent, write the workflow",
    )
    .option(
      '--client <client>',
      `${AGENT_CLIENTS.join('|')} (repeatable; default: those the directory shows, else claude-code)`,
      collect,
    )
    .option('-p, --project <name>', 'project (default: from .coffer or coffer.yaml)')
    .option(
      '-e, --env <env>',
      "environment the agent may use (repeatable; default: the project file's, then those in the vault)",
      collect,
      [],
    )
    .option('--reveal <mode>', 'never: the only mode agent setup writes', 'never')
    .option('--dry-run', 'say what would change, write nothing')
    .option(
      '--json',
      'print {dryRun, clients: [{client, project, envs, command, changes, limits}]}',
    )
    .addHelpText(
      'after',
      `
In the project directory, for each client:
  - its MCP configuration gets a "coffer" server: the absolute path of this coffer, with
    mcp --allow project/P/* --env E... --reveal never (no credential in the file: the vault
    key stays in coffer's own files). Claude Code: .mcp.json; Cursor: .cursor/mcp.json;
    VS Code: .vscode/mcp.json ("servers"); Codex: .codex/config.toml (trusted projects).
  - files the agent must not read (.env*, *.pem, *.key, coffer's home): Claude Code's
    permissions.deny Read rules in .claude/settings.json; Cursor's .cursorignore. Codex and
    VS Code have no such project setting: the output says so.
  - Claude Code: a PostToolUse hook (Bash and MCP tools) that masks the project's stored
    values in the tool's output before the model reads it (coffer redact --hook claude-code).
  - the store-first workflow (request_secret, generate_secret, write_env, verify_secret)
    between markers in CLAUDE.md (Claude Code) or AGENTS.md (the others).
Existing settings are kept byte for byte; a rerun changes nothing. A file that does not
parse is refused with its line, and nothing is written.

Examples:
  coffer agent setup                                  # the clients this directory shows
  coffer agent setup --client cursor --client vscode --project consilio --env dev --env prod
  coffer agent setup --dry-run --json`,
    )
    .action(
      action<AgentOptions>(async (_args, opts, g) => {
        if (opts.reveal !== 'never') {
          throw new CofferError(
            'USAGE',
            `--reveal ${opts.reveal}: agent setup writes --reveal never only`,
            {
              hint: 'An agent that needs a value uses write_env or coffer run; edit the file by hand to allow reveals.',
            },
          );
        }
        const dir = process.cwd();
        const clients = clientsOf(opts.client, dir);
        const found = opts.project === undefined ? resolveProject(undefined) : undefined;
        const project = found?.project ?? resolveProject(opts.project).project;
        const envFlags = (opts as unknown as { env?: string[] }).env ?? [];
        const envs = await environments(g, project, envFlags);
        const command = cofferBinary();
        // Every plan first: a file that does not parse stops the command before any write.
        const plans: AgentSetupPlan[] = clients.map((client) =>
          planAgentSetup({
            client,
            project,
            envs,
            command,
            cofferHome: dirname(vaultPath(g)),
            location: entryLocation(g),
            homeDir: homedir(),
            files: readFiles(dir, client),
          }),
        );
        if (!opts.dryRun) {
          const changes = plans.flatMap((p) => p.changes);
          // Checked again right before writing: where a link leads may have changed since.
          for (const c of changes) {
            assertClientFileInProject(dir, c.file);
            assertWritable(join(dir, c.file));
          }
          for (const c of changes) writeFile(join(dir, c.file), c.after);
        }
        if (opts.json) {
          printJson({
            dryRun: opts.dryRun === true,
            clients: plans.map((p) => ({
              client: p.client,
              project,
              envs,
              command,
              changes: p.changes.map((c) => ({
                file: c.file,
                created: c.created,
                pieces: c.pieces,
              })),
              limits: p.limits,
            })),
          });
          return 0;
        }
        const verb = opts.dryRun ? 'would write' : 'wrote';
        for (const p of plans) {
          writeOut(
            `${p.client}: coffer mcp for project/${project}/* (${envs.join(', ')}), --reveal never\n`,
          );
          if (p.changes.length === 0) writeOut('  already set up: nothing changed\n');
          for (const c of p.changes) {
            writeOut(`  ${verb} ${c.file}${c.created ? ' (new)' : ''}: ${c.pieces.join(', ')}\n`);
          }
          for (const l of p.limits) writeOut(`  note: ${l}\n`);
        }
        if (!opts.dryRun) writeOut('Check with: coffer agent check\n');
        return 0;
      }),
    );
  agent
    .command('check')
    .description("report what is missing from a client's coffer setup (exit 1 when something is)")
    .option(
      '--client <client>',
      `${AGENT_CLIENTS.join('|')} (repeatable; default: those the directory shows, else claude-code)`,
      collect,
    )
    .option(
      '--json',
      'print {ok, clients: [{client, ok, project, items: [{piece, file, status, detail}]}]}',
    )
    .addHelpText(
      'after',
      `
Pieces: mcp-server (coffer mcp, absolute command that exists, one project, --reveal never,
no credential in the file), read-deny, output-hook, instructions, and vault (it opens with
no prompt, as the client starts coffer). A piece the client has no setting for is "not
available", not missing.

Examples:
  coffer agent check
  coffer agent check --client cursor --json`,
    )
    .action(
      action<AgentOptions>(async (_args, opts, g) => {
        const dir = process.cwd();
        const reports: AgentCheckReport[] = clientsOf(opts.client, dir).map((client) => {
          const { files, unreadable } = readCheckFiles(dir, client);
          return checkAgentSetup({
            client,
            cofferHome: dirname(defaultVault()),
            homeDir: homedir(),
            files,
            unreadable,
            isExecutable,
          });
        });
        // The server and the hook start with no terminal: the vault must open without a prompt.
        // It is opened where the entry's server would open it: its --vault and --key-file, or
        // coffer's default place (the client does not have this shell's COFFER_HOME).
        const opened = new Map<string, CheckItem>();
        for (const r of reports) {
          if (r.project === undefined) continue;
          const at = r.location ?? {};
          const { keyFile: _shells, ...rest } = g;
          const where: GlobalOptions = {
            ...rest,
            // With COFFER_DATABASE_URL the vault is that database, as for the entry's server.
            ...(at.vault !== undefined || databaseUrl() === undefined
              ? { vault: at.vault ?? defaultVault() }
              : {}),
            ...(at.keyFile !== undefined ? { keyFile: at.keyFile } : {}),
          };
          const key = JSON.stringify([where.vault, where.keyFile]);
          if (!opened.has(key)) opened.set(key, await vaultOpens(where));
          const vault = opened.get(key)!;
          r.items.push(vault);
          if (vault.status === 'missing') r.ok = false;
        }
        const ok = reports.every((r) => r.ok);
        if (opts.json) printJson({ ok, clients: reports });
        else {
          for (const r of reports) {
            writeOut(`${r.client}: ${r.ok ? 'ok' : 'incomplete'}\n`);
            for (const i of r.items) {
              const mark = STATUS_MARK[i.status];
              writeOut(`  ${mark} ${i.piece}${i.file ? ` (${i.file})` : ''}: ${i.detail}\n`);
            }
          }
          // setup refuses a file that does not parse: it has to be fixed by hand first.
          if (reports.some((r) => r.items.some((i) => i.status === 'invalid')))
            writeOut('Fix the INVALID files (or move them aside), then run: coffer agent setup\n');
          else if (!ok) writeOut('Fix with: coffer agent setup\n');
        }
        return ok ? 0 : 1;
      }),
    );
}
