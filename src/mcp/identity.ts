/**
 * Who acts, for the audit log: the MCP client's declared name and version, plus the agent id
 * from COFFER_AGENT_ID when it is set: `mcp:claude-code/1.2.0` or
 * `mcp:claude-code/1.2.0 agent:reviewer-3`.
 *
 * The client declares its identity itself (in `initialize` on protocol 2025-era connections,
 * in each request's `_meta` envelope on 2026-07-28 ones), so it is recorded as a label, not
 * trusted as authentication. It is cleaned before use: printable ASCII only, spaces turned
 * into `-`, each part at most 64 characters.
 */

export interface ClientInfo {
  name: string;
  version: string;
}

const MAX_PART = 64;

/** `s` reduced to printable ASCII without spaces or `/`, at most MAX_PART characters. */
function clean(s: string, fallback: string): string {
  const out = s
    .normalize('NFKD')
    .replace(/\s+/g, '-')
    .replace(/[^\x21-\x7e]|\//g, '')
    .slice(0, MAX_PART);
  return out === '' ? fallback : out;
}

/** The audit actor for an MCP client (undefined: not declared) and an optional agent id. */
export function mcpActor(client: ClientInfo | undefined, agentId: string | undefined): string {
  const base = `mcp:${clean(client?.name ?? '', 'unknown')}/${clean(client?.version ?? '', '?')}`;
  const agent = agentId === undefined ? '' : clean(agentId, '');
  return agent === '' ? base : `${base} agent:${agent}`;
}

/** Reads `{name, version}` from untrusted data (a `_meta` envelope entry); undefined if absent. */
export function clientInfoFrom(value: unknown): ClientInfo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { name, version } = value as { name?: unknown; version?: unknown };
  if (typeof name !== 'string') return undefined;
  return { name, version: typeof version === 'string' ? version : '' };
}
