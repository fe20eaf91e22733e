/**
 * `coffer agent setup` and `coffer agent check` as pure functions: the current text of a
 * client's files in, the new text out (setup), or the list of pieces in place and missing
 * (check). The CLI only reads and writes the files. Every edit keeps the rest of each file
 * byte-identical and a second run changes nothing.
 */
import { dirname, isAbsolute, relative } from 'node:path';
import { CofferError } from '../errors.js';
import { CREDENTIAL_ENV_NAMES } from '../inject/child-env.js';
import { refusedEnvName } from '../inject/names.js';
import { pathGlob } from '../path-glob.js';
import { findBlock, upsertBlock } from './blocks.js';
import { type AgentClient, CLIENTS, clientFiles } from './clients.js';
import {
  appendItem,
  type JsonParseOptions,
  JsonSyntaxError,
  jsonValue,
  newJsonFile,
  nodeAt,
  parseJsonTree,
  replaceNode,
  setProperty,
} from './json-edit.js';
import { parseToml, setTomlTable, type TomlSimpleValue, TomlSyntaxError } from './toml-edit.js';
import { INSTRUCTIONS_MARKERS, workflowText } from './workflow.js';

/** The pieces of a setup, in the order they are reported. */
export type AgentPiece = 'mcp-server' | 'read-deny' | 'output-hook' | 'instructions' | 'vault';

/**
 * The settings an MCP server entry may hold beside coffer's own (command, args, type): the
 * user's `env` (checked on its own), a working directory, timeouts, tool lists and switches.
 */
const ENTRY_KEYS = new Set([
  'command',
  'args',
  'type',
  'env',
  'cwd',
  'enabled',
  'disabled',
  'description',
  'timeout',
  'startup_timeout_sec',
  'startup_timeout_ms',
  'tool_timeout_sec',
  'enabled_tools',
  'disabled_tools',
  // Codex: whether the server must start, and tool approval (`[mcp_servers.coffer.tools.X]`).
  'required',
  'default_tools_approval_mode',
  'supports_parallel_tool_calls',
  'tools',
  'alwaysAllow',
  'autoApprove',
]);

/** The name of coffer's entry in every client's MCP configuration. */
export const SERVER_NAME = 'coffer';

/**
 * Variables that hold coffer credentials (the list `coffer run` withholds from programs): never
 * in a client's configuration file, which the agent may read and a repository may commit.
 */
const CREDENTIAL_VARS: ReadonlySet<string> = new Set(CREDENTIAL_ENV_NAMES);

/**
 * Variables that make `coffer mcp` use another vault or server than the one setup chose (and
 * `agent check` opens): the entry says where the vault is with `--vault` and `--key-file`.
 * COFFER_INSECURE_HTTP lets the token travel over plain http to that server.
 */
const REDIRECT_VARS: ReadonlySet<string> = new Set([
  'COFFER_URL',
  'COFFER_HOME',
  'COFFER_DATABASE_URL',
  'COFFER_KEY_FILE',
  'COFFER_INSECURE_HTTP',
]);

/**
 * The credentials the vault would open with only because they are in this environment: a
 * client started from elsewhere (a dock, a launcher) has none of them, and one started from
 * this shell hands them to the agent's own shell commands, which can print them.
 */
export function credentialsInEnvironment(env: NodeJS.ProcessEnv): string[] {
  return ['COFFER_MASTER_KEY', 'COFFER_PASSPHRASE'].filter((k) => (env[k] ?? '') !== '');
}

export const IGNORE_MARKERS = {
  begin: '# coffer:begin files the agent must not read (written by `coffer agent setup`)',
  end: '# coffer:end',
};

/** The .cursorignore lines (gitignore syntax: each matches at any depth). */
export const IGNORE_PATTERNS = ['.env', '.env.*', '*.pem', '*.key'];

export interface AgentSetupInput {
  client: AgentClient;
  project: string;
  /** The environments the agent may use (the first is its default). */
  envs: readonly string[];
  /** The absolute path of the coffer binary the client starts. */
  command: string;
  /** coffer's home (vault and key file), absolute. */
  cofferHome: string;
  /** The vault's place when it is not the default one (~/.coffer). */
  location?: VaultLocation | undefined;
  /** The user's home directory, for `~/` rules. */
  homeDir: string;
  /** The current text of each file of `clientFiles(client)`; undefined when it does not exist. */
  files: Readonly<Record<string, string | undefined>>;
}

export interface FileChange {
  file: string;
  created: boolean;
  before: string | undefined;
  after: string;
  pieces: AgentPiece[];
}

export interface AgentSetupPlan {
  client: AgentClient;
  /** Files whose text changes (none on a rerun). */
  changes: FileChange[];
  /** What the client does not let coffer set. */
  limits: string[];
}

/**
 * Where the server and the hook find the vault when it is not coffer's default place
 * (~/.coffer): absolute paths, never a credential. A client started from a dock or a
 * launcher does not have the shell's COFFER_HOME, so the entry has to say.
 */
export interface VaultLocation {
  vault?: string | undefined;
  keyFile?: string | undefined;
}

function locationArgs(at: VaultLocation): string[] {
  return [
    ...(at.vault !== undefined ? ['--vault', at.vault] : []),
    ...(at.keyFile !== undefined ? ['--key-file', at.keyFile] : []),
  ];
}

/**
 * `coffer mcp`'s arguments for an agent: the project's paths, its environments, no values,
 * and the vault's place when it is not the default one.
 */
export function mcpArgs(
  project: string,
  envs: readonly string[],
  at: VaultLocation = {},
): string[] {
  return [
    'mcp',
    '--allow',
    `project/${project}/*`,
    ...envs.flatMap((e) => ['--env', e]),
    '--reveal',
    'never',
    ...locationArgs(at),
  ];
}

/** What an entry's `coffer mcp` arguments say, read back the way mcpArgs writes them. */
function readMcpArgs(
  args: readonly string[],
): { project: string; envs: string[]; at: VaultLocation } | undefined {
  const allow = /^project\/([a-z0-9_-]+)\/\*$/.exec(args[1] === '--allow' ? String(args[2]) : '');
  if (args[0] !== 'mcp' || allow === null) return undefined;
  let k = 3;
  const envs: string[] = [];
  while (args[k] === '--env' && k + 1 < args.length) {
    envs.push(args[k + 1]!);
    k += 2;
  }
  k += 2; // --reveal never (compared with the whole list below)
  const at: VaultLocation = {};
  if (args[k] === '--vault') {
    at.vault = args[k + 1];
    k += 2;
  }
  if (args[k] === '--key-file') at.keyFile = args[k + 1];
  return { project: allow[1]!, envs, at };
}

/** A word for a POSIX shell, quoted when it needs to be. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The Claude Code PostToolUse hook command: coffer's redaction of the project's stored values. */
export function redactHookCommand(
  command: string,
  project: string,
  envs: readonly string[],
  at: VaultLocation = {},
): string {
  return [
    command,
    'redact',
    '--hook',
    'claude-code',
    '--project',
    project,
    ...envs.flatMap((e) => ['--env', e]),
    ...locationArgs(at),
  ]
    .map(shellQuote)
    .join(' ');
}

/** The tools whose output the hook masks: the shell and every MCP server's tools. */
export const HOOK_MATCHER = 'Bash|mcp__.*';

/** Claude Code `permissions.deny` rules: secret files in the project and coffer's home. */
export function claudeDenyRules(cofferHome: string, homeDir: string): string[] {
  const rel = relative(homeDir, cofferHome);
  const home =
    rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)
      ? `~/${rel.split('\\').join('/')}`
      : `/${cofferHome}`;
  return [
    'Read(./.env)',
    'Read(./.env.*)',
    'Read(./**/.env)',
    'Read(./**/.env.*)',
    'Read(./**/*.pem)',
    'Read(./**/*.key)',
    `Read(${home}/**)`,
  ];
}

function serverEntry(
  client: AgentClient,
  command: string,
  args: string[],
): Record<string, unknown> {
  return CLIENTS[client].typeStdio ? { type: 'stdio', command, args } : { command, args };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A JSON file's text with `edit` applied, starting from `{}` when the file does not exist. */
function editJson(text: string | undefined, edit: (t: string) => string): string {
  return edit(text === undefined || text.trim() === '' ? newJsonFile({}) : text);
}

/**
 * What `coffer agent setup` writes for one client.
 * @throws CofferError INVALID_ARGUMENT (file:line) when an existing file does not parse or
 *   holds coffer's entry in a shape it cannot replace; nothing is to be written then.
 */
export function planAgentSetup(input: AgentSetupInput): AgentSetupPlan {
  const spec = CLIENTS[input.client];
  if (!isAbsolute(input.command)) {
    throw new TypeError('the coffer command must be an absolute path');
  }
  if (input.envs.length === 0) throw new RangeError('at least one environment is needed');
  const texts = new Map<string, string | undefined>(
    clientFiles(input.client).map((f) => [f, input.files[f]]),
  );
  const pieces = new Map<string, AgentPiece[]>();
  const update = (file: string, piece: AgentPiece, next: string): void => {
    if (next === (texts.get(file) ?? undefined)) return;
    texts.set(file, next);
    pieces.set(file, [...(pieces.get(file) ?? []), piece]);
  };
  const location = input.location ?? {};
  for (const p of [location.vault, location.keyFile]) {
    if (p !== undefined && !isAbsolute(p)) throw new TypeError('vault paths must be absolute');
  }
  const args = mcpArgs(input.project, input.envs, location);

  // 1. coffer's MCP server.
  const mcpText = texts.get(spec.mcpFile);
  if (spec.mcpFormat === 'toml') {
    const text = mcpText ?? '';
    const current = tomlServer(text, spec.mcpFile) as Record<string, unknown> | undefined;
    // Only coffer's own keys are set: the user's other keys (env, cwd, timeouts) and
    // [mcp_servers.coffer.*] tables stay. A server the user switched off is switched on.
    const entries: [string, TomlSimpleValue][] = [
      ['command', input.command],
      ['args', args],
    ];
    if (current?.enabled === false) entries.push(['enabled', true]);
    // An entry that would stay unsafe with coffer's keys set (a credential or a code-loading
    // variable in its env, another transport) is replaced whole.
    const unsafe =
      current !== undefined &&
      entryProblem({ ...current, ...Object.fromEntries(entries) }, () => true) !== undefined;
    update(
      spec.mcpFile,
      'mcp-server',
      setTomlTable(
        text,
        spec.mcpFile,
        [spec.serversKey, SERVER_NAME],
        entries,
        unsafe ? 'whole' : 'keys',
      ),
    );
  } else {
    const opts: JsonParseOptions = { jsonc: spec.jsonc };
    const entry = serverEntry(input.client, input.command, args);
    let text = editJson(mcpText, (t) => t);
    const at = [spec.serversKey, SERVER_NAME];
    const current = nodeAt(parseJsonTree(text, spec.mcpFile, opts), at);
    const have = current === undefined ? undefined : jsonValue(current);
    const members: [string, unknown][] = Object.entries(entry);
    if (isObject(have) && have.disabled === true) members.push(['disabled', false]);
    if (
      !isObject(have) ||
      entryProblem({ ...have, ...Object.fromEntries(members) }, () => true) !== undefined
    ) {
      // None yet, or one that would stay unsafe with coffer's members set: replaced whole.
      text = setProperty(text, spec.mcpFile, opts, [spec.serversKey], SERVER_NAME, entry);
    } else {
      // Only coffer's own members are set: the user's others (env, cwd, ...) stay.
      for (const [k, v] of members) {
        if (!sameJson(have[k], v)) text = setProperty(text, spec.mcpFile, opts, at, k, v);
      }
    }
    update(spec.mcpFile, 'mcp-server', text);
  }

  // 2. Secret files kept from the agent.
  if (spec.readDeny.kind === 'claude-settings') {
    const file = spec.readDeny.file;
    let text = editJson(texts.get(file), (t) => t);
    const deny = nodeAt(parseJsonTree(text, file), ['permissions', 'deny']);
    const rules = claudeDenyRules(input.cofferHome, input.homeDir);
    if (deny === undefined) {
      text = setProperty(text, file, {}, ['permissions'], 'deny', rules);
    } else {
      const have = jsonValue(deny);
      if (!Array.isArray(have)) {
        throw new CofferError('INVALID_ARGUMENT', `${file}: permissions.deny is not an array`, {
          hint: 'Fix the file (or move it aside), then run the command again; nothing was written.',
        });
      }
      for (const rule of rules)
        if (!have.includes(rule)) text = appendItem(text, file, {}, ['permissions', 'deny'], rule);
    }
    update(file, 'read-deny', text);
  } else if (spec.readDeny.kind === 'ignore-file') {
    const file = spec.readDeny.file;
    update(
      file,
      'read-deny',
      upsertBlock(texts.get(file) ?? '', IGNORE_MARKERS, IGNORE_PATTERNS.join('\n'), file),
    );
  }

  // 3. The hook that masks stored values in tool output.
  if (spec.outputHook.kind === 'claude-settings') {
    const file = spec.outputHook.file;
    let text = editJson(texts.get(file), (t) => t);
    const group = {
      matcher: HOOK_MATCHER,
      hooks: [
        {
          type: 'command',
          command: redactHookCommand(input.command, input.project, input.envs, location),
        },
      ],
    };
    const post = nodeAt(parseJsonTree(text, file), ['hooks', 'PostToolUse']);
    if (post === undefined) {
      text = setProperty(text, file, {}, ['hooks'], 'PostToolUse', [group]);
    } else if (post.kind !== 'array') {
      throw new CofferError('INVALID_ARGUMENT', `${file}: hooks.PostToolUse is not an array`, {
        hint: 'Fix the file (or move it aside), then run the command again; nothing was written.',
      });
    } else {
      // Only a group of coffer's own hook is replaced: a group where the user keeps hooks of
      // their own besides it stays as it is, and coffer's group is added beside it.
      const at = post.items.findIndex((g) => isCofferHookGroup(jsonValue(g), true));
      if (at < 0) text = appendItem(text, file, {}, ['hooks', 'PostToolUse'], group);
      else if (!sameJson(jsonValue(post.items[at]!), group))
        text = replaceNode(text, post.items[at]!, group);
    }
    update(file, 'output-hook', text);
  }

  // 4. The workflow in the project instructions.
  const file = spec.instructionsFile;
  update(
    file,
    'instructions',
    upsertBlock(texts.get(file) ?? '', INSTRUCTIONS_MARKERS, workflowText(input.project), file),
  );

  const changes: FileChange[] = [];
  for (const [file, list] of pieces) {
    const before = input.files[file];
    const after = texts.get(file)!;
    if (after === before) continue;
    changes.push({ file, created: before === undefined, before, after, pieces: list });
  }
  return { client: input.client, changes, limits: spec.limits };
}

/**
 * A PostToolUse matcher group with a command hook that runs `coffer redact --hook
 * claude-code`; with `only`, one that holds nothing else (coffer's own group).
 */
function isCofferHookGroup(group: unknown, only = false): boolean {
  const hooks = (group as { hooks?: unknown })?.hooks;
  const ours = (h: { command?: unknown } | null | undefined) =>
    typeof h?.command === 'string' && / redact --hook claude-code( |$)/.test(h.command);
  return Array.isArray(hooks) && hooks.length > 0 && (only ? hooks.every(ours) : hooks.some(ours));
}

/** coffer's server in a Codex config.toml: its command and args (undefined when absent). */
function tomlServer(
  text: string,
  file: string,
): { command?: unknown; args?: unknown; env?: Record<string, unknown> } | undefined {
  const doc = parseToml(text, file);
  let found: { command?: unknown; args?: unknown; env?: Record<string, unknown> } | undefined;
  for (const k of doc.keys) {
    if (k.path[0] !== 'mcp_servers' || k.path[1] !== SERVER_NAME) continue;
    // No prototype: a `__proto__` key in the file is data, not the object's prototype.
    found ??= Object.create(null) as NonNullable<typeof found>;
    const rest = k.path.slice(2);
    if (rest.length === 1 && (rest[0] === 'command' || rest[0] === 'args'))
      found[rest[0]] = k.value;
    else if (rest[0] === 'env') {
      found.env ??= Object.create(null) as Record<string, unknown>;
      if (rest.length === 2) found.env[rest[1]!] = k.value;
      else if (rest.length === 1 && typeof k.value === 'object' && k.value !== null)
        Object.assign(found.env, k.value);
    } else {
      (found as Record<string, unknown>)[rest.join('.')] = k.value;
    }
  }
  // An empty [mcp_servers.coffer] table is an entry too.
  if (
    found === undefined &&
    doc.tables.some((t) => t.path[0] === 'mcp_servers' && t.path[1] === SERVER_NAME)
  )
    found = {};
  return found;
}

/**
 * `invalid`: the piece's file is there but does not parse (or cannot be read), so whether the
 * piece is in place is unknown; the client may ignore the file or refuse to start.
 */
export type CheckStatus = 'ok' | 'missing' | 'invalid' | 'not-available';

export interface CheckItem {
  piece: AgentPiece;
  file?: string;
  status: CheckStatus;
  detail: string;
}

export interface AgentCheckInput {
  client: AgentClient;
  /** coffer's default home: the vault's directory when the entry names no --vault. */
  cofferHome: string;
  homeDir: string;
  files: Readonly<Record<string, string | undefined>>;
  /**
   * Files that are there but could not be read (not a regular file, past the size cap, not
   * UTF-8), each with why: reported invalid, never as a piece that is missing.
   */
  unreadable?: Readonly<Record<string, string>> | undefined;
  /** Whether a file exists and can be run (the MCP command). */
  isExecutable: (path: string) => boolean;
}

export interface AgentCheckReport {
  client: AgentClient;
  ok: boolean;
  /** The project coffer's server is limited to, when its entry says. */
  project?: string;
  /** Where the entry's server finds the vault (empty: the default place). */
  location?: VaultLocation;
  items: CheckItem[];
}

/** A file `checkAgentSetup` was told it could not read, with why. */
class UnreadableFile extends Error {
  readonly detail: string;
  constructor(detail: string) {
    super(detail);
    this.detail = detail;
  }
}

/**
 * What a file that cannot be read leaves of a check. One that does not parse is `invalid`,
 * named with where it stops parsing and never with the parser's own words: they may quote a
 * key or a table name of the file, and these files can hold a token. One that parses but holds
 * a piece in a shape coffer cannot read (permissions.deny not an object, broken block
 * markers) leaves that piece `missing`, with the place.
 */
function brokenFile(err: unknown): { status: 'invalid' | 'missing'; detail: string } {
  if (err instanceof UnreadableFile) return { status: 'invalid', detail: err.detail };
  if (err instanceof JsonSyntaxError)
    return { status: 'invalid', detail: `not valid JSON (line ${err.line}, column ${err.column})` };
  if (err instanceof TomlSyntaxError)
    return { status: 'invalid', detail: `not valid TOML (line ${err.line}, column ${err.column})` };
  if (err instanceof CofferError) return { status: 'missing', detail: err.message };
  throw err;
}

/** Which pieces of a client's setup are in place. Never throws for a broken file: it is reported. */
export function checkAgentSetup(input: AgentCheckInput): AgentCheckReport {
  const spec = CLIENTS[input.client];
  const items: CheckItem[] = [];
  const missing = (piece: AgentPiece, file: string, detail: string): void => {
    items.push({ piece, file, status: 'missing', detail });
  };
  const broken = (piece: AgentPiece, file: string, err: unknown): void => {
    items.push({ piece, file, ...brokenFile(err) });
  };
  const hooksOff = (file: string): void =>
    missing('output-hook', file, 'disableAllHooks is true: no hook runs, coffer redact included');
  /** A file's text (undefined: not there). @throws UnreadableFile when it could not be read. */
  const textOf = (file: string): string | undefined => {
    const why = input.unreadable?.[file];
    if (why !== undefined) throw new UnreadableFile(why);
    return input.files[file];
  };

  // 1. The MCP server entry, and from it the project and environments.
  let project: string | undefined;
  let envs: string[] = [];
  let location: VaultLocation = {};
  let command: string | undefined;
  {
    const file = spec.mcpFile;
    let entry: { command?: unknown; args?: unknown; env?: unknown } | undefined;
    let failed: { status: 'invalid' | 'missing'; detail: string } | undefined;
    try {
      const text = textOf(file);
      if (text !== undefined) {
        if (spec.mcpFormat === 'toml') entry = tomlServer(text, file);
        else {
          const node = nodeAt(parseJsonTree(text, file, { jsonc: spec.jsonc }), [
            spec.serversKey,
            SERVER_NAME,
          ]);
          entry = node === undefined ? undefined : (jsonValue(node) as typeof entry);
        }
      }
    } catch (err) {
      failed = brokenFile(err);
    }
    const problem =
      failed?.detail ??
      (entry === undefined
        ? `no "${SERVER_NAME}" server`
        : entryProblem(entry, input.isExecutable));
    if (problem !== undefined)
      items.push({
        piece: 'mcp-server',
        file,
        status: failed?.status ?? 'missing',
        detail: problem,
      });
    else {
      const read = readMcpArgs(entry!.args as string[])!;
      project = read.project;
      envs = read.envs;
      location = read.at;
      command = entry!.command as string;
      items.push({
        piece: 'mcp-server',
        file,
        status: 'ok',
        detail: `coffer mcp for project/${project}/*, values never revealed`,
      });
    }
  }

  // 2. Secret files kept from the agent.
  if (spec.readDeny.kind === 'claude-settings') {
    const file = spec.readDeny.file;
    // The vault's directory as the entry names it, else coffer's home.
    const home = location.vault !== undefined ? dirname(location.vault) : input.cofferHome;
    const rules = claudeDenyRules(home, input.homeDir);
    try {
      const text = textOf(file);
      const node =
        text === undefined ? undefined : nodeAt(parseJsonTree(text, file), ['permissions', 'deny']);
      const have = node === undefined ? [] : jsonValue(node);
      const absent = rules.filter((r) => !(Array.isArray(have) && have.includes(r)));
      if (absent.length > 0)
        missing('read-deny', file, `permissions.deny lacks ${absent.join(', ')}`);
      else
        items.push({
          piece: 'read-deny',
          file,
          status: 'ok',
          detail: "Read denied for .env*, *.pem, *.key and coffer's home",
        });
    } catch (err) {
      broken('read-deny', file, err);
    }
  } else if (spec.readDeny.kind === 'ignore-file') {
    const file = spec.readDeny.file;
    try {
      const text = textOf(file) ?? '';
      const block = findBlock(text, IGNORE_MARKERS, file);
      const lines = new Set((block?.body ?? '').split(/\r?\n/).map((l) => l.trim()));
      const absent = IGNORE_PATTERNS.filter((p) => !lines.has(p));
      const reopened = block === undefined ? undefined : reincluded(text, block.end);
      if (block === undefined) missing('read-deny', file, 'no coffer block');
      else if (absent.length > 0)
        missing('read-deny', file, `the coffer block lacks ${absent.join(', ')}`);
      else if (reopened !== undefined)
        missing(
          'read-deny',
          file,
          `line ${reopened.line} (${reopened.text}) comes after the coffer block and re-includes files it ignores`,
        );
      else
        items.push({
          piece: 'read-deny',
          file,
          status: 'ok',
          detail: `${IGNORE_PATTERNS.join(', ')} ignored`,
        });
    } catch (err) {
      broken('read-deny', file, err);
    }
  } else {
    items.push({
      piece: 'read-deny',
      status: 'not-available',
      detail: spec.limits[spec.readDenyLimit ?? -1] ?? 'the client has no such setting',
    });
  }

  // 3. The output hook. Each problem is its own item: the hook's file and every file that can
  // switch hooks off (the personal settings) are read whatever the others hold, so a broken
  // personal file is not hidden behind a missing hook, nor the other way round. A file that
  // does not parse is red: the client may ignore it, or refuse to start.
  if (spec.outputHook.kind === 'claude-settings') {
    const file = spec.outputHook.file;
    const found = items.length;
    try {
      const text = textOf(file);
      const tree = text === undefined ? undefined : parseJsonTree(text, file);
      const node = tree === undefined ? undefined : nodeAt(tree, ['hooks', 'PostToolUse']);
      const groups = node === undefined ? [] : jsonValue(node);
      const ours = Array.isArray(groups)
        ? (groups.find((g) => isCofferHookGroup(g, true)) ??
          groups.find((g) => isCofferHookGroup(g)))
        : undefined;
      const want =
        command !== undefined && project !== undefined
          ? {
              matcher: HOOK_MATCHER,
              hooks: [
                { type: 'command', command: redactHookCommand(command, project, envs, location) },
              ],
            }
          : undefined;
      if (ours === undefined)
        missing('output-hook', file, 'no PostToolUse hook running coffer redact');
      else if (want !== undefined && !sameJson(ours, want))
        missing(
          'output-hook',
          file,
          'the PostToolUse hook does not match the MCP server (run coffer agent setup again)',
        );
      if (tree !== undefined && disablesAllHooks(tree)) hooksOff(file);
    } catch (err) {
      broken('output-hook', file, err);
    }
    for (const other of spec.overrides ?? []) {
      try {
        const text = textOf(other);
        if (text !== undefined && disablesAllHooks(parseJsonTree(text, other))) hooksOff(other);
      } catch (err) {
        broken('output-hook', other, err);
      }
    }
    if (items.length === found)
      items.push({
        piece: 'output-hook',
        file,
        status: 'ok',
        detail: `${HOOK_MATCHER} output passes through coffer redact`,
      });
  } else {
    items.push({
      piece: 'output-hook',
      status: 'not-available',
      detail: spec.limits[spec.hookLimit ?? -1] ?? 'the client has no such hook',
    });
  }

  // 4. The workflow in the project instructions.
  {
    const file = spec.instructionsFile;
    try {
      const block = findBlock(textOf(file) ?? '', INSTRUCTIONS_MARKERS, file);
      if (block === undefined) missing('instructions', file, 'no coffer secrets workflow');
      else if (project !== undefined && block.body.replace(/\r\n/g, '\n') !== workflowText(project))
        missing(
          'instructions',
          file,
          'the secrets workflow is not the current one (run coffer agent setup again)',
        );
      else
        items.push({
          piece: 'instructions',
          file,
          status: 'ok',
          detail: "store-first workflow for coffer's tools",
        });
    } catch (err) {
      broken('instructions', file, err);
    }
  }

  return {
    client: input.client,
    ok: items.every((i) => i.status !== 'missing' && i.status !== 'invalid'),
    ...(project !== undefined ? { project, location } : {}),
    items,
  };
}

/** Names a `.cursorignore` negation that re-includes, matched against its last segment. */
const COVERED_NAMES = ['.env', '.env.local', '.env.production', 'server.pem', 'server.key'];

/**
 * The first negation (`!pattern`) after coffer's block, in gitignore syntax, that matches a
 * file the block ignores: a later rule wins, so it takes that file back out of the ignore.
 */
function reincluded(text: string, after: number): { line: number; text: string } | undefined {
  const before = text.slice(0, after).split('\n').length;
  const lines = text.slice(after).split('\n');
  for (let k = 0; k < lines.length; k++) {
    const t = lines[k]!.trim();
    if (!t.startsWith('!')) continue;
    const last = t.slice(1).replace(/\/+$/, '').split('/').at(-1) ?? '';
    let covers: (name: string) => boolean;
    try {
      const glob = pathGlob(last);
      covers = (n) => last === '**' || glob.test(n);
    } catch {
      covers = () => true; // a glob we cannot read is taken to match: the check stays red
    }
    if (COVERED_NAMES.some(covers)) return { line: before + k, text: t };
  }
  return undefined;
}

/** Whether Claude settings say `"disableAllHooks": true` (no hook runs, coffer redact included). */
function disablesAllHooks(tree: ReturnType<typeof parseJsonTree>): boolean {
  const node = nodeAt(tree, ['disableAllHooks']);
  return node !== undefined && jsonValue(node) === true;
}

/**
 * Why a server entry is not the safe one, or undefined when it is. Its arguments must be
 * exactly what setup writes (`mcp --allow project/P/* [--env E]... --reveal never`): any
 * other option, a `--opt=value` form or a repeated one (the last wins) could widen it.
 */
function entryProblem(
  entry: {
    command?: unknown;
    args?: unknown;
    env?: unknown;
    type?: unknown;
    url?: unknown;
    enabled?: unknown;
    disabled?: unknown;
  },
  isExecutable: (path: string) => boolean,
): string | undefined {
  const { command, args, env } = entry;
  if ((entry.type !== undefined && entry.type !== 'stdio') || entry.url !== undefined)
    return 'it is not the local coffer mcp (a remote or non-stdio server)';
  // Codex's `enabled = false`, and `disabled: true` in the JSON clients' files.
  if (entry.enabled === false || entry.disabled === true)
    return 'it is switched off in the client configuration';
  // Any other setting may change how the process starts (VS Code's and Cursor's `envFile`,
  // Codex's `env_vars`, a debug launcher): only the ones known to be harmless are kept.
  const unknown = Object.keys(entry).filter((k) => !ENTRY_KEYS.has(k.split('.')[0]!));
  if (unknown.length > 0)
    return `it has settings that may change how coffer starts (${unknown.join(', ')}): remove them`;
  if (typeof command !== 'string' || !isAbsolute(command))
    return 'its command is not an absolute path';
  if (!isExecutable(command)) return `its command ${command} does not exist or cannot be run`;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string') || args[0] !== 'mcp')
    return 'it does not run coffer mcp';
  const read = readMcpArgs(args);
  if (read === undefined) return 'it is not limited to one project (--allow project/P/*)';
  const expected = mcpArgs(read.project, read.envs, read.at);
  if (args.length !== expected.length || args.some((a, k) => a !== expected[k])) {
    return args.some((a, k) => a === '--reveal' && args[k + 1] === 'never')
      ? 'it has other options than --allow project/P/*, --env E, --reveal never, --vault and --key-file'
      : 'it may reveal values (--reveal never missing)';
  }
  for (const p of [read.at.vault, read.at.keyFile]) {
    if (p !== undefined && !isAbsolute(p)) return `its vault path ${p} is not absolute`;
  }
  if (env !== undefined && typeof env === 'object' && env !== null) {
    // Names only, never a value; in any case (Windows reads coffer_token as COFFER_TOKEN).
    const creds = Object.keys(env).filter((k) => CREDENTIAL_VARS.has(k.toUpperCase()));
    if (creds.length > 0)
      return `it holds coffer credentials (${creds.join(', ')}): remove them from the file`;
    const redirects = Object.keys(env).filter((k) => REDIRECT_VARS.has(k.toUpperCase()));
    if (redirects.length > 0) {
      return `its environment sets ${redirects.join(', ')}, which change${redirects.length === 1 ? 's' : ''} the vault or server coffer uses: remove ${redirects.length === 1 ? 'it' : 'them'} (setup names the vault with --vault)`;
    }
    const loaders = Object.keys(env).filter((k) => refusedEnvName(k) !== undefined);
    if (loaders.length > 0)
      return `its environment sets ${loaders.join(', ')}, which change what code it runs`;
  }
  return undefined;
}
