/**
 * Access: tokens that never expire, reach every path or hold admin, sit unused for 90 days,
 * or are expired or revoked; MCP configurations that run coffer with `--reveal allow` or
 * without `--allow`; secrets or tokens written in plain text in MCP configuration and agent
 * settings; agent settings that let the agent read .env files. Agent files are read directly
 * (core/scan/agents lists where each agent keeps them).
 */
import { globsBeyondCaps, MAX_GLOB_LENGTH, MAX_GLOBS } from '../../access/globs.js';
import { tokenUnusable } from '../../access/tokens.js';
import { JsonSyntaxError, jsonValue, parseJsonTree } from '../../agents/json-edit.js';
import { parseToml, TomlSyntaxError } from '../../agents/toml-edit.js';
import { CofferError } from '../../errors.js';
import { type AgentFile, agentFiles } from '../../scan/agents.js';
import { scanText } from '../../scan/scanner.js';
import type { TokenRecord } from '../../store/storage.js';
import type { DoctorContext } from '../context.js';
import {
  type Check,
  type Evidence,
  type Fix,
  type Unread,
  unread as unreadFile,
} from '../types.js';
import { base, isEnvFile, UNVERIFIED } from './util.js';

const DAY = 86_400_000;
export const UNUSED_DAYS = 90;

async function tokens(ctx: DoctorContext): Promise<TokenRecord[] | undefined> {
  const vault = await ctx.vault();
  if (vault === undefined) return undefined;
  return vault.readTransaction((tx) => tx.listTokens());
}

function tokenCheck(
  id: string,
  severity: Check['severity'],
  title: string,
  why: string,
  problem: (t: TokenRecord, ctx: DoctorContext, lastUse: string | undefined) => string | undefined,
  fix: (t: TokenRecord) => Fix,
): Check {
  return {
    id,
    category: 'access',
    severity,
    title,
    why,
    async run(ctx) {
      const list = await tokens(ctx);
      if (list === undefined) return { evidence: [], skipped: 'no vault' };
      const needsUse = id === 'access/token-unused';
      const facts = needsUse ? await ctx.auditFacts() : undefined;
      if (facts?.verified === false) return { evidence: [], skipped: UNVERIFIED };
      const evidence: Evidence[] = [];
      const fixes: Fix[] = [];
      for (const t of list) {
        const p = problem(t, ctx, facts?.tokenUse.get(t.name));
        if (p === undefined) continue;
        evidence.push({ token: t.name, message: `token ${t.name} ${p}` });
        fixes.push(fix(t));
      }
      return { evidence, fixes };
    },
  };
}

const live = (t: TokenRecord, ctx: DoctorContext) => tokenUnusable(t, ctx.now) === undefined;
const replace = (t: TokenRecord): Fix => ({
  description: `replace token ${t.name} with a narrower one that expires`,
  command: `coffer token create --name ${t.name}-2 --allow "project/APP/*" --cap read --ttl 90d && coffer token revoke ${t.name}`,
});

const noExpiry = tokenCheck(
  'access/token-no-expiry',
  'warning',
  'every token expires',
  'A token without an expiry outlives the person or job it was made for; the seed rotates access when a team member leaves.',
  (t, ctx) => (live(t, ctx) && t.expiresAt === null ? 'never expires' : undefined),
  replace,
);

const broad = tokenCheck(
  'access/token-broad',
  'warning',
  'no token reaches every path or holds admin',
  'The seed grants only what is needed: a token with ** or admin opens every secret to whoever holds it.',
  (t, ctx) => {
    if (!live(t, ctx)) return undefined;
    const all = t.allow.length === 0 || t.allow.some((g) => g === '**' || g.startsWith('**'));
    const admin = t.caps.includes('admin');
    if (!all && !admin) return undefined;
    return [all ? 'reaches every key path (**)' : '', admin ? 'holds admin' : '']
      .filter(Boolean)
      .join(' and ');
  },
  replace,
);

const unused = tokenCheck(
  'access/token-unused',
  'warning',
  'no token unused for 90 days',
  'An unused token is access no one needs any more, still waiting to leak.',
  (t, ctx, lastUse) => {
    if (!live(t, ctx)) return undefined;
    const since = Date.parse(lastUse ?? t.createdAt);
    if (ctx.now.getTime() - since < UNUSED_DAYS * DAY) return undefined;
    return lastUse === undefined
      ? `has not been used since it was created ${t.createdAt.slice(0, 10)}`
      : `was last used ${lastUse.slice(0, 10)}`;
  },
  (t) => ({ description: `revoke token ${t.name}`, command: `coffer token revoke ${t.name}` }),
);

/**
 * Why a token's path globs are past the caps new tokens have (globs.ts), or undefined. Read
 * with globsBeyondCaps' bounded reading: the count and lengths of the globs are checked
 * first, and the globs compiled only when within them, so a token of hundreds of long globs
 * costs this check nothing more. A glob that does not parse (no coffer stored one) is past
 * them too.
 */
function beyondCaps(t: TokenRecord): string | undefined {
  try {
    return globsBeyondCaps(t.allow);
  } catch (err) {
    if (err instanceof CofferError) return 'a path glob that does not parse';
    throw err;
  }
}

const pastCaps = tokenCheck(
  'access/token-globs-past-limits',
  'warning',
  'no live token has path globs past the limits new tokens have',
  'An earlier coffer made tokens with more path globs, or longer ones, than a token may now have: a backup restore brings such a token back revoked, so whoever holds it loses access then, and every check of its globs costs more than a token within the limits.',
  (t, ctx) => {
    if (!live(t, ctx)) return undefined;
    const why = beyondCaps(t);
    return why === undefined
      ? undefined
      : `has path globs past the limits new tokens have (${why}): replace it with a token within the limits (at most ${MAX_GLOBS} globs of at most ${MAX_GLOB_LENGTH} characters)`;
  },
  (t) => ({
    description: `replace token ${t.name} with one whose path globs are within the limits, give its holder the new one, then revoke it`,
    command: `coffer token create --name ${t.name}-2 --allow "project/APP/*" --cap read --ttl 90d && coffer token revoke ${t.name}`,
  }),
);

const TOKEN_IN_TEXT = /coffer_([0-9a-f]{16})_[A-Za-z0-9_-]{43}/g;

const dead: Check = {
  id: 'access/token-dead',
  category: 'access',
  severity: 'warning',
  title: 'no expired or revoked token is still written in a file',
  why: 'A token left in a .env file, a CI file or an agent configuration after it was revoked shows a client that was never moved to its replacement.',
  async run(ctx) {
    const list = await tokens(ctx);
    if (list === undefined) return { evidence: [], skipped: 'no vault' };
    const byId = new Map(list.map((t) => [t.id, t]));
    const files = new Set([...ctx.committable(), ...ctx.tree().filter(isEnvFile)]);
    const shown = new Map<string, string>();
    for (const f of configFiles(ctx)) shown.set(f.path, f.shown);
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (const file of [...files, ...shown.keys()]) {
      const text = ctx.text(file);
      if (text === undefined || !text.includes('coffer_')) continue;
      for (const m of text.matchAll(TOKEN_IN_TEXT)) {
        const t = byId.get(m[1]!);
        const why = t === undefined ? undefined : tokenUnusable(t, ctx.now);
        if (t === undefined || why === undefined) continue;
        const name = shown.get(file) ?? file;
        const line = text.slice(0, m.index).split('\n').length;
        evidence.push({
          file: name,
          line,
          token: t.name,
          message: `token ${t.name} is ${why} but still written here`,
        });
        fixes.push({
          description: `remove token ${t.name} from ${name} (give the client its replacement)`,
        });
      }
    }
    return {
      evidence,
      fixes,
      unread: ctx.unreadOf([...files, ...shown.keys()], (f) => shown.get(f) ?? f),
    };
  },
};

interface McpServer {
  name: string;
  command: string;
  args: string[];
  env: Record<string, unknown>;
}

/**
 * The document of an agent's JSON file, or why it is none: `not valid JSON (line L, column
 * C)`. Never the parser's own words, which may quote the file (a token in it). VS Code's
 * files are JSONC (comments, trailing commas), as VS Code reads them; the others strict JSON.
 */
function parseAgentJson(text: string, jsonc: boolean): { doc: unknown } | { invalid: string } {
  try {
    return { doc: jsonValue(parseJsonTree(text, '', { jsonc })) };
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    return { invalid: `not valid JSON (line ${err.line}, column ${err.column})` };
  }
}

/**
 * The MCP servers of a configuration file (`text`, read), or the Unread of one that does not
 * parse: a file no check can read is incomplete, never "no servers".
 */
function serversOf(f: AgentFile, text: string): { servers: McpServer[]; unread?: Unread } {
  if (base(f.path).endsWith('.toml')) {
    const parsed = tomlServers(text);
    if ('invalid' in parsed) return { servers: [], unread: unreadFile(f.shown, parsed.invalid) };
    return parsed;
  }
  const parsed = parseAgentJson(text, f.agent === 'VS Code');
  if ('invalid' in parsed) return { servers: [], unread: unreadFile(f.shown, parsed.invalid) };
  return { servers: jsonServers(parsed.doc) };
}

/** The MCP servers of a JSON configuration (mcpServers, VS Code's servers, ~/.claude.json projects). */
function jsonServers(doc: unknown): McpServer[] {
  const out: McpServer[] = [];
  const take = (block: unknown) => {
    if (block === null || typeof block !== 'object') return;
    for (const [name, s] of Object.entries(block as Record<string, unknown>)) {
      if (s === null || typeof s !== 'object') continue;
      const o = s as Record<string, unknown>;
      out.push({
        name,
        command: typeof o.command === 'string' ? o.command : '',
        args: Array.isArray(o.args) ? o.args.filter((a): a is string => typeof a === 'string') : [],
        env: o.env !== null && typeof o.env === 'object' ? (o.env as Record<string, unknown>) : {},
      });
    }
  };
  if (doc === null || typeof doc !== 'object') return out;
  const d = doc as Record<string, unknown>;
  take(d.mcpServers);
  take(d.servers);
  if (d.projects !== null && typeof d.projects === 'object') {
    for (const p of Object.values(d.projects as Record<string, unknown>)) {
      if (p !== null && typeof p === 'object') take((p as Record<string, unknown>).mcpServers);
    }
  }
  return out;
}

/**
 * The MCP servers of Codex's config.toml (`[mcp_servers.NAME]` with command and args), read
 * with the TOML parser `coffer agent setup` edits it with, or why it is none: `not valid TOML
 * (line L, column C)`, never the parser's words (they may quote a key of the file).
 */
function tomlServers(text: string): { servers: McpServer[] } | { invalid: string } {
  let doc: ReturnType<typeof parseToml>;
  try {
    doc = parseToml(text, '');
  } catch (err) {
    if (!(err instanceof TomlSyntaxError)) throw err;
    return { invalid: `not valid TOML (line ${err.line}, column ${err.column})` };
  }
  const byName = new Map<string, McpServer>();
  const server = (name: string): McpServer => {
    let s = byName.get(name);
    if (s === undefined) {
      // No prototype: a `__proto__` key in the file is data, not the object's prototype.
      s = { name, command: '', args: [], env: Object.create(null) as Record<string, unknown> };
      byName.set(name, s);
    }
    return s;
  };
  for (const t of doc.tables)
    if (t.path[0] === 'mcp_servers' && t.path.length === 2) server(t.path[1]!);
  for (const k of doc.keys) {
    if (k.path[0] !== 'mcp_servers' || k.path.length < 3) continue;
    const s = server(k.path[1]!);
    const [, , key, sub] = k.path;
    if (k.path.length === 3 && key === 'command' && typeof k.value === 'string')
      s.command = k.value;
    else if (k.path.length === 3 && key === 'args' && Array.isArray(k.value))
      s.args = k.value.filter((a): a is string => typeof a === 'string');
    else if (key === 'env' && k.path.length === 4) s.env[sub!] = k.value;
    else if (key === 'env' && k.path.length === 3 && typeof k.value === 'object' && k.value)
      Object.assign(s.env, k.value);
  }
  return { servers: [...byName.values()] };
}

function isCofferMcp(s: McpServer): boolean {
  const words = [s.command, ...s.args];
  const coffer = words.some(
    (w) => /(?:^|[/\\])coffer(?:\.c?js|\.cmd)?$|(?:^|[/\\])cli\.cjs$/.test(w) || w === 'coffer',
  );
  return coffer && s.args.includes('mcp');
}

function lineOfName(text: string, name: string): number | undefined {
  const i =
    text.indexOf(`"${name}"`) >= 0
      ? text.indexOf(`"${name}"`)
      : text.indexOf(`mcp_servers.${name}`);
  return i < 0 ? undefined : text.slice(0, i).split('\n').length;
}

/** The agents' configuration files that are there, readable or not (`unreadConfig`). */
function configFiles(ctx: DoctorContext) {
  return agentFiles({ home: ctx.home, project: ctx.root, env: ctx.env, anyKind: true }).filter(
    (f) => f.kind === 'configuration',
  );
}

/** The configuration files that are there but could not be read, as shown. */
function unreadConfig(ctx: DoctorContext): Unread[] {
  const files = configFiles(ctx);
  const shown = new Map(files.map((f) => [f.path, f.shown]));
  return ctx.unreadOf(
    files.map((f) => f.path),
    (p) => shown.get(p) ?? p,
  );
}

const AGENT_SETUP: Fix = {
  description:
    "rewrite the client's MCP entry with --allow and --reveal never, and deny its reads of .env files (coffer agent check lists what is missing)",
  command: 'coffer agent setup',
};

/** `coffer agent setup`'s client names, by the agent names of core/scan/agents. */
const CLIENT_OF: Record<string, string> = {
  'Claude Code': 'claude-code',
  Cursor: 'cursor',
  'VS Code': 'vscode',
  Codex: 'codex',
};

/** One agent-setup fix per client found (the generic one for a client setup does not know). */
function agentSetupFixes(agents: ReadonlySet<string>): Fix[] {
  const out: Fix[] = [];
  for (const a of agents) {
    const client = CLIENT_OF[a];
    out.push(
      client === undefined
        ? AGENT_SETUP
        : { ...AGENT_SETUP, command: `coffer agent setup --client ${client}` },
    );
  }
  return [...new Map(out.map((f) => [f.command, f])).values()];
}

const mcpFlags: Check = {
  id: 'access/mcp-config',
  category: 'access',
  severity: 'error',
  title: 'MCP configurations limit what coffer gives an agent',
  why: 'An agent that gets every path, or every value back, can read and leak any secret the vault holds.',
  run(ctx) {
    const evidence: Evidence[] = [];
    const agents = new Set<string>();
    const notParsed: Unread[] = [];
    for (const f of configFiles(ctx)) {
      const text = ctx.text(f.path);
      if (text === undefined) continue;
      const { servers, unread: invalid } = serversOf(f, text);
      if (invalid !== undefined) notParsed.push(invalid);
      for (const s of servers.filter(isCofferMcp)) {
        const reveal = s.args.indexOf('--reveal');
        const problems: string[] = [];
        if (reveal >= 0 && s.args[reveal + 1] === 'allow') problems.push('--reveal allow');
        if (s.args.some((a) => a === '--reveal=allow')) problems.push('--reveal allow');
        if (!s.args.some((a) => a === '--allow' || a.startsWith('--allow=')))
          problems.push('no --allow');
        if (problems.length === 0) continue;
        agents.add(f.agent);
        evidence.push({
          file: f.shown,
          line: lineOfName(text, s.name),
          message: `MCP server ${s.name} (${f.agent}) runs coffer mcp with ${problems.join(' and ')}`,
        });
      }
    }
    return {
      evidence,
      fixes: agentSetupFixes(agents),
      unread: [...unreadConfig(ctx), ...notParsed],
    };
  },
};

const SECRET_ENV_NAMES = /^(?:COFFER_TOKEN|COFFER_MASTER_KEY|COFFER_PASSPHRASE)$/;

const plaintext: Check = {
  id: 'access/agent-plaintext',
  category: 'access',
  severity: 'error',
  title: 'no secret or token in plain text in MCP configuration or agent settings',
  why: 'Agent configuration files are read by the agent, synced and shared; a key written there is a key handed out.',
  async run(ctx) {
    const matcher = await ctx.storedValues();
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    const notParsed: Unread[] = [];
    for (const f of configFiles(ctx)) {
      const text = ctx.text(f.path);
      if (text === undefined) continue;
      const lines = new Set<number>();
      for (const x of scanText(text, f.shown, { storedValues: matcher })) {
        if (lines.has(x.line)) continue;
        lines.add(x.line);
        evidence.push({
          file: f.shown,
          line: x.line,
          keyPath: x.keyPath,
          env: x.env,
          message:
            x.keyPath !== undefined
              ? `the value of ${x.keyPath} (${x.env}) is written in ${f.agent}'s configuration`
              : `${x.ruleId}: a secret is written in ${f.agent}'s configuration`,
        });
        if (x.keyPath !== undefined) {
          fixes.push({
            description: `treat ${x.keyPath} as leaked`,
            command: `coffer incident ${x.keyPath} --env ${x.env}`,
          });
        }
      }
      // The env blocks of the MCP servers (JSON's env objects, TOML's env tables).
      const { servers, unread: invalid } = serversOf(f, text);
      if (invalid !== undefined) notParsed.push(invalid);
      for (const s of servers) {
        for (const [k, v] of Object.entries(s.env)) {
          if (!SECRET_ENV_NAMES.test(k) || typeof v !== 'string' || v === '' || /^\$\{/.test(v))
            continue;
          const line = lineOfName(text, k);
          if (line !== undefined && lines.has(line)) continue;
          evidence.push({
            file: f.shown,
            line,
            message: `MCP server ${s.name} has ${k} written in its env block`,
          });
        }
      }
    }
    if (evidence.length > 0) fixes.unshift(AGENT_SETUP);
    return { evidence, fixes, unread: [...unreadConfig(ctx), ...notParsed] };
  },
};

/** Claude Code's permission rules that keep Read away from .env files. */
function deniesEnvReads(settings: unknown): boolean {
  if (settings === null || typeof settings !== 'object') return false;
  const p = (settings as Record<string, unknown>).permissions;
  if (p === null || typeof p !== 'object') return false;
  const deny = (p as Record<string, unknown>).deny;
  return (
    Array.isArray(deny) && deny.some((r) => typeof r === 'string' && /^Read\([^)]*\.env/.test(r))
  );
}

function allowsEnvReads(settings: unknown): string | undefined {
  if (settings === null || typeof settings !== 'object') return undefined;
  const p = (settings as Record<string, unknown>).permissions;
  if (p === null || typeof p !== 'object') return undefined;
  const allow = (p as Record<string, unknown>).allow;
  if (!Array.isArray(allow)) return undefined;
  return allow.find(
    (r): r is string =>
      typeof r === 'string' && /^Read(?:\((?:[^)]*\.env[^)]*|\*\*?|\.\/?\*\*?)\))?$/.test(r),
  );
}

const envReads: Check = {
  id: 'access/agent-env-read',
  category: 'access',
  severity: 'warning',
  title: 'agent settings keep the agent out of .env files',
  why: 'An agent that reads .env sends its values to the model provider and keeps them in its transcripts.',
  run(ctx) {
    const evidence: Evidence[] = [];
    const claudeFiles = ['.claude/settings.json', '.claude/settings.local.json'];
    const unread = ctx.unreadOf([
      ...claudeFiles,
      '.mcp.json',
      'CLAUDE.md',
      '.cursor/mcp.json',
      '.cursorrules',
      '.cursorignore',
    ]);
    // A settings file that does not parse is not read either: what it allows is unknown.
    const settings = claudeFiles.map((f) => {
      const text = ctx.text(f);
      const parsed = text === undefined ? { doc: undefined } : parseAgentJson(text, false);
      if ('invalid' in parsed) unread.push(unreadFile(f, parsed.invalid));
      return { f, doc: 'doc' in parsed ? parsed.doc : undefined };
    });
    const notRead = new Set(unread.map((u) => u.file));
    const usesClaude =
      claudeFiles.some((f) => ctx.text(f) !== undefined) ||
      ctx.text('.mcp.json') !== undefined ||
      ctx.text('CLAUDE.md') !== undefined;
    if (usesClaude) {
      for (const { f, doc } of settings) {
        const allowed = allowsEnvReads(doc);
        if (allowed !== undefined) evidence.push({ file: f, message: `${f} allows ${allowed}` });
      }
      // A settings file not read may hold the deny rule: that it is missing is not known then.
      if (
        !settings.some((s) => deniesEnvReads(s.doc)) &&
        !claudeFiles.some((f) => notRead.has(f))
      ) {
        evidence.push({
          file: '.claude/settings.json',
          message: 'Claude Code may read .env files: no Read(./.env*) deny rule',
        });
      }
    }
    if (ctx.text('.cursor/mcp.json') !== undefined || ctx.text('.cursorrules') !== undefined) {
      const ignore = ctx.text('.cursorignore') ?? '';
      if (
        !notRead.has('.cursorignore') &&
        !ignore.split(/\r?\n/).some((l) => /^\/?(?:\*\*\/)?\.env/.test(l.trim()))
      ) {
        evidence.push({
          file: '.cursorignore',
          message: 'Cursor may read .env files: .cursorignore does not list them',
        });
      }
    }
    return { evidence, fixes: [AGENT_SETUP], unread };
  },
};

export const ACCESS_CHECKS: readonly Check[] = [
  noExpiry,
  broad,
  unused,
  pastCaps,
  dead,
  mcpFlags,
  plaintext,
  envReads,
];
