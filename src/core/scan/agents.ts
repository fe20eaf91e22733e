/**
 * Where AI coding agents keep what they saw and how they are configured (`coffer scan
 * --agents`): transcripts keep every value an agent read or was told, and MCP configuration
 * files often hold API keys in their `env` blocks. Locations, as the agents document them:
 *
 * - Claude Code: transcripts `~/.claude/projects/<project>/*.jsonl` (`CLAUDE_CONFIG_DIR`
 *   moves `~/.claude`), settings `~/.claude/settings.json` and `settings.local.json`, MCP
 *   servers of the user and local scopes in `~/.claude.json`; in a project `.mcp.json` and
 *   `.claude/settings.json`, `.claude/settings.local.json`;
 * - Codex: `~/.codex/config.toml` (`CODEX_HOME` moves `~/.codex`), its session transcripts
 *   `sessions/**\/*.jsonl` and `archived_sessions/`, the prompt history `history.jsonl`; in a
 *   project `.codex/config.toml`;
 * - Cursor: `~/.cursor/mcp.json`, and `.cursor/mcp.json` in a project;
 * - VS Code: the user profile's `mcp.json` (`~/.config/Code/User/` on Linux,
 *   `~/Library/Application Support/Code/User/` on macOS, `%APPDATA%\Code\User\` on Windows),
 *   and `.vscode/mcp.json` in a project;
 * - Claude Desktop: `claude_desktop_config.json` in `~/.config/Claude/`,
 *   `~/Library/Application Support/Claude/` or `%APPDATA%\Claude\`.
 *
 * Every candidate of every platform is tried (only existing files are returned), so the list
 * depends on the home directory and the environment given, never on the machine's own.
 */
import { type Dirent, lstatSync, readdirSync, type Stats, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

/** One file an agent wrote or reads. */
export interface AgentFile {
  /** Absolute path. */
  readonly path: string;
  /** As shown in findings and keyed in baselines: `~/…` under the home, else relative. */
  readonly shown: string;
  readonly agent: string;
  /** Transcripts are read for stored values and provider keys only, not keyword matches. */
  readonly kind: 'transcript' | 'configuration';
}

export interface AgentLocations {
  /** The home directory (`HOME`). */
  readonly home: string;
  /** The project whose own agent configuration is read too (the git work tree or cwd). */
  readonly project?: string | undefined;
  /** `CLAUDE_CONFIG_DIR`, `CODEX_HOME`, `XDG_CONFIG_HOME`, `APPDATA` are honoured. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Also return a file that is there but is no regular file (a FIFO, a device, a directory, a
   * dangling link), for a caller that reports what it cannot read (doctor, scan --agents): a
   * configuration file of that name, a transcript's `.jsonl` entry that is no directory.
   */
  readonly anyKind?: boolean | undefined;
}

function isThere(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The `.jsonl` files under `dir`, at any depth (links to directories not followed); with
 * `anyKind` every other entry so named too (a link, a FIFO, a device), for the caller to read
 * through or report.
 */
function jsonlFiles(dir: string, out: string[], anyKind: boolean): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) jsonlFiles(p, out, anyKind);
    else if ((e.isFile() || anyKind) && e.name.endsWith('.jsonl')) out.push(p);
  }
}

/**
 * Why a file found is not one to read, as the scan lists it: `FIFO`, `DEVICE`, `SOCKET`,
 * `DIRECTORY`, `DANGLING_LINK`, or `NOT_REGULAR`; undefined for a regular file (or a link to
 * one), and for one that is gone or that the system refuses to look at (its read says why).
 */
export function notRegularKind(path: string): string | undefined {
  let own: Stats | undefined;
  try {
    own = lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (own === undefined) return undefined;
  let target: Stats | undefined;
  try {
    target = statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (target === undefined) return own.isSymbolicLink() ? 'DANGLING_LINK' : undefined;
  if (target.isFile()) return undefined;
  if (target.isFIFO()) return 'FIFO';
  if (target.isCharacterDevice() || target.isBlockDevice()) return 'DEVICE';
  if (target.isSocket()) return 'SOCKET';
  if (target.isDirectory()) return 'DIRECTORY';
  return 'NOT_REGULAR';
}

/** The agent files that exist, transcripts sorted by path. */
export function agentFiles(o: AgentLocations): AgentFile[] {
  const { home, env } = o;
  const under = (base: string | undefined, ...parts: string[]): string | undefined =>
    base === undefined || base === '' ? undefined : join(base, ...parts);
  const claudeDir = env.CLAUDE_CONFIG_DIR || join(home, '.claude');
  const codexDir = env.CODEX_HOME || join(home, '.codex');
  const xdg = env.XDG_CONFIG_HOME || join(home, '.config');
  const appData = env.APPDATA;
  const macSupport = join(home, 'Library', 'Application Support');

  const config: [agent: string, path: string | undefined][] = [
    ['Claude Code', join(home, '.claude.json')],
    ['Claude Code', join(claudeDir, 'settings.json')],
    ['Claude Code', join(claudeDir, 'settings.local.json')],
    ['Codex', join(codexDir, 'config.toml')],
    ['Cursor', join(home, '.cursor', 'mcp.json')],
    ['VS Code', join(xdg, 'Code', 'User', 'mcp.json')],
    ['VS Code', join(macSupport, 'Code', 'User', 'mcp.json')],
    ['VS Code', under(appData, 'Code', 'User', 'mcp.json')],
    ['Claude Desktop', join(xdg, 'Claude', 'claude_desktop_config.json')],
    ['Claude Desktop', join(macSupport, 'Claude', 'claude_desktop_config.json')],
    ['Claude Desktop', under(appData, 'Claude', 'claude_desktop_config.json')],
    ['Claude Code', under(o.project, '.mcp.json')],
    ['Claude Code', under(o.project, '.claude', 'settings.json')],
    ['Claude Code', under(o.project, '.claude', 'settings.local.json')],
    ['Codex', under(o.project, '.codex', 'config.toml')],
    ['Cursor', under(o.project, '.cursor', 'mcp.json')],
    ['VS Code', under(o.project, '.vscode', 'mcp.json')],
  ];
  const transcripts: [agent: string, path: string][] = [];
  const collect = (agent: string, dir: string) => {
    const found: string[] = [];
    jsonlFiles(dir, found, o.anyKind === true);
    for (const p of found.sort()) transcripts.push([agent, p]);
  };
  collect('Claude Code', join(claudeDir, 'projects'));
  collect('Codex', join(codexDir, 'sessions'));
  collect('Codex', join(codexDir, 'archived_sessions'));
  transcripts.push(['Codex', join(codexDir, 'history.jsonl')]);

  const seen = new Set<string>();
  const out: AgentFile[] = [];
  const add = (agent: string, path: string | undefined, kind: AgentFile['kind']) => {
    if (path === undefined || seen.has(path)) return;
    if (!(o.anyKind === true ? isThere(path) : isFile(path))) return;
    seen.add(path);
    out.push({ path, shown: shownPath(path, home, o.project), agent, kind });
  };
  for (const [agent, path] of config) add(agent, path, 'configuration');
  for (const [agent, path] of transcripts) add(agent, path, 'transcript');
  return out;
}

/** `~/…` under the home directory, a relative path inside the project, else the path. */
function shownPath(path: string, home: string, project: string | undefined): string {
  const inside = (base: string) => {
    const r = relative(base, path);
    return r !== '' && !r.startsWith('..') && !isAbsolute(r) ? r.split(sep).join('/') : undefined;
  };
  const p = project === undefined ? undefined : inside(project);
  if (p !== undefined) return p;
  const h = inside(home);
  return h !== undefined ? `~/${h}` : path.split(sep).join('/');
}
