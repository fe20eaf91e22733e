/**
 * The agent label a remote client may send with its requests (the `X-Coffer-Agent` header):
 * which MCP client and agent made the call (`mcp:claude-code/1.2.0 agent:reviewer`, see
 * mcp/identity.ts). The server writes it into the audit actor after the token's name
 * (`token:ci-agent@10.0.0.5 (mcp:claude-code/1.2.0 agent:reviewer)`); it is a label for the
 * log, never an input to an access decision: whoever holds the token can send any label.
 *
 * The grammar is narrow so a label cannot pass for another actor or break a log line: `mcp:`,
 * a name and version of letters, digits and `._~+-/`, then optionally ` agent:` and an id of
 * the same characters plus `:@`; no spaces, parentheses, quotes or control characters; at
 * most 160 characters. Anything else is refused (INVALID_ARGUMENT), never cleaned, so a
 * forged header is an error, not a quietly different record.
 */
import { CofferError } from '../errors.js';

/** The header name, lowercase (node:http's form). */
export const AGENT_HEADER = 'x-coffer-agent';

export const MAX_AGENT_LABEL = 160;

const LABEL = /^mcp:[A-Za-z0-9._~+/-]{1,80}(?: agent:[A-Za-z0-9._~+/:@-]{1,64})?$/;

/** The label as sent, checked; INVALID_ARGUMENT (which never quotes it) otherwise. */
export function parseAgentLabel(text: string): string {
  if (typeof text !== 'string' || text.length > MAX_AGENT_LABEL || !LABEL.test(text)) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `the ${AGENT_HEADER} header is not an agent label (mcp:NAME/VERSION [agent:ID], at most ${MAX_AGENT_LABEL} characters)`,
    );
  }
  return text;
}

/**
 * The label for an MCP actor (`mcp:NAME/VERSION agent:ID`): each character outside the
 * grammar becomes `-` and each part is cut to its length, so what a client declares always
 * gives a valid label; undefined for an actor that is not an MCP one.
 */
export function agentLabelFor(actor: string): string | undefined {
  const m = /^mcp:(\S*)(?: agent:(\S*))?$/.exec(actor);
  if (m === null) return undefined;
  const client = (m[1] ?? '').replace(/[^A-Za-z0-9._~+/-]/g, '-').slice(0, 80) || 'unknown';
  const agent = (m[2] ?? '').replace(/[^A-Za-z0-9._~+/:@-]/g, '-').slice(0, 64);
  return agent === '' ? `mcp:${client}` : `mcp:${client} agent:${agent}`;
}

/** The audit actor of a token's request that names its agent. */
export function actorWithAgent(tokenActor: string, label: string | undefined): string {
  return label === undefined ? tokenActor : `${tokenActor} (${label})`;
}
