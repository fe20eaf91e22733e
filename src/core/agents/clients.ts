/**
 * The coding-agent clients `coffer agent setup` knows, and where each keeps what coffer sets:
 * its MCP configuration, its setting that keeps the agent out of secret files, a hook that
 * can rewrite a tool's output before the model reads it, and the file it reads for project
 * instructions. What a client's documentation does not offer is said plainly (`limits`).
 */

export const AGENT_CLIENTS = ['claude-code', 'codex', 'cursor', 'vscode'] as const;
export type AgentClient = (typeof AGENT_CLIENTS)[number];

export interface ClientSpec {
  /** The MCP configuration file, relative to the project directory. */
  mcpFile: string;
  mcpFormat: 'json' | 'toml';
  /** The key holding the servers (JSON), or the table prefix (TOML). */
  serversKey: string;
  /** VS Code's mcp.json is JSON with comments. */
  jsonc: boolean;
  /** A `"type": "stdio"` member in the server entry. */
  typeStdio: boolean;
  /** Where the read-deny setting goes: Claude Code's settings, an ignore file, or nowhere. */
  readDeny:
    | { kind: 'claude-settings'; file: string }
    | { kind: 'ignore-file'; file: string }
    | { kind: 'none' };
  /** The output-redaction hook: Claude Code's PostToolUse in its settings, or nowhere. */
  outputHook: { kind: 'claude-settings'; file: string } | { kind: 'none' };
  /** The project instructions file. */
  instructionsFile: string;
  /**
   * Files the client also reads that can switch a piece off (a personal settings file):
   * `agent check` reads them, setup never writes them.
   */
  overrides?: string[];
  /** What the client does not let coffer do, said in the output and the README. */
  limits: string[];
  /** The limit that explains a missing read-deny setting, and a missing hook (`agent check`). */
  readDenyLimit?: number;
  hookLimit?: number;
}

export const CLIENTS: Record<AgentClient, ClientSpec> = {
  'claude-code': {
    mcpFile: '.mcp.json',
    mcpFormat: 'json',
    serversKey: 'mcpServers',
    jsonc: false,
    typeStdio: true,
    readDeny: { kind: 'claude-settings', file: '.claude/settings.json' },
    outputHook: { kind: 'claude-settings', file: '.claude/settings.json' },
    instructionsFile: 'CLAUDE.md',
    overrides: ['.claude/settings.local.json'],
    limits: [
      "Read deny rules stop Claude Code's file tools; a shell command such as `cat .env` is not a file tool: the PostToolUse hook masks stored values in what Bash and MCP tools return (all tools from Claude Code 2.1.121; MCP tools only before).",
      'Claude Code asks before it uses a project\'s .mcp.json servers the first time: approve "coffer".',
    ],
  },
  codex: {
    mcpFile: '.codex/config.toml',
    mcpFormat: 'toml',
    serversKey: 'mcp_servers',
    jsonc: false,
    typeStdio: false,
    readDeny: { kind: 'none' },
    outputHook: { kind: 'none' },
    instructionsFile: 'AGENTS.md',
    readDenyLimit: 1,
    hookLimit: 2,
    limits: [
      "Codex reads a project's .codex/config.toml only once you trust the project.",
      'Codex denies reads only through a whole sandbox permission profile (`default_permissions` with `[permissions.NAME.filesystem]` "none" globs), which coffer does not change for you: add "**/.env" = "none", "**/.env.*" = "none", "**/*.pem" = "none", "**/*.key" = "none" to your profile.',
      "Codex hooks cannot rewrite a tool's output yet (PostToolUse is experimental and Bash only): nothing is installed; `coffer run` masks its own output.",
    ],
  },
  cursor: {
    mcpFile: '.cursor/mcp.json',
    mcpFormat: 'json',
    serversKey: 'mcpServers',
    jsonc: false,
    typeStdio: false,
    readDeny: { kind: 'ignore-file', file: '.cursorignore' },
    outputHook: { kind: 'none' },
    instructionsFile: 'AGENTS.md',
    hookLimit: 1,
    limits: [
      ".cursorignore keeps Agent, Tab, Inline Edit and @ references out of those files; Cursor's terminal and MCP tools are not covered (Cursor's documentation says so), and it cannot name coffer's home outside the project.",
      "Cursor hooks cannot rewrite a tool's output: nothing is installed; `coffer run` masks its own output.",
    ],
  },
  vscode: {
    mcpFile: '.vscode/mcp.json',
    mcpFormat: 'json',
    serversKey: 'servers',
    jsonc: true,
    typeStdio: true,
    readDeny: { kind: 'none' },
    outputHook: { kind: 'none' },
    instructionsFile: 'AGENTS.md',
    readDenyLimit: 0,
    hookLimit: 1,
    limits: [
      'VS Code has no workspace setting that stops the agent reading a file (content exclusion is a GitHub organization setting): nothing is set.',
      "VS Code's PostToolUse hooks can add context but not replace a tool's output: nothing is installed; `coffer run` masks its own output.",
    ],
  },
};

/** The client named by `--client`, or undefined. */
export function parseAgentClient(name: string): AgentClient | undefined {
  return (AGENT_CLIENTS as readonly string[]).includes(name) ? (name as AgentClient) : undefined;
}

/**
 * The files a client's setup reads and may write, relative to the project directory; with
 * `check`, also the files `agent check` only reads (`overrides`).
 */
export function clientFiles(client: AgentClient, check = false): string[] {
  const c = CLIENTS[client];
  const files = [c.mcpFile, c.instructionsFile];
  if (c.readDeny.kind !== 'none') files.push(c.readDeny.file);
  if (c.outputHook.kind !== 'none') files.push(c.outputHook.file);
  if (check) files.push(...(c.overrides ?? []));
  return [...new Set(files)];
}
