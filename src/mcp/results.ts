/**
 * Tool results as the MCP client sees them: `structuredContent` plus the same JSON as one
 * text block (for clients that read only text). A failure is a tool result with `isError`
 * and `{error: {code, message, hint}}`, so the model can read what went wrong and fix its
 * call; protocol-level problems (an unknown tool) stay JSON-RPC errors, which the SDK sends.
 *
 * Nothing here sees a value except `previewOf`, which shows nothing of a value under 16
 * characters and of a longer one at most an eighth of its characters and never more than
 * four, so a preview never holds a meaningful share of a value.
 */
import { CofferError, defaultHint, type ErrorCode, type RetryWith } from '../core/errors.js';

/** What a tool returns to the SDK (a subset of its CallToolResult type). */
export interface ToolResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent: Record<string, unknown>;
  isError?: boolean;
}

export interface ToolError {
  code: ErrorCode;
  message: string;
  hint?: string;
}

export function okResult(data: Record<string, unknown>): ToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data };
}

/**
 * What an agent should do next, for the codes whose catalogue hint names a CLI command that
 * has a tool (`coffer list` is list_secrets) or that only the user can run.
 */
const AGENT_HINTS: Partial<Record<ErrorCode, string>> = {
  SECRET_NOT_FOUND:
    'List what exists with the list_secrets tool (scope, project, env), then call again with one of its keyPaths.',
  VERSION_NOT_FOUND: 'Read the latest version with get_secret.',
  SECRET_DELETED:
    'It was deleted. Ask the user whether it should come back (they restore it with `coffer restore PATH` in a terminal); store a new value with set_secret only if they say so.',
  VERSION_CONFLICT:
    'Another write came first: read the current version with get_secret or verify_secret, then call set_secret again if the change is still wanted.',
  VAULT_NOT_FOUND:
    'The vault does not exist yet. Ask the user to create it with `coffer init` in a terminal, then to restart this MCP server.',
  ENVIRONMENT_NOT_FOUND:
    'Call again with an env argument naming an environment the project has (list_secrets shows each secret with its environment).',
  PROJECT_NOT_FOUND:
    'Call again with a project argument naming a project that has secrets (list_secrets lists them).',
};

/** An environment or project that holds nothing: the tool argument to pass instead. */
function retryHint(r: RetryWith): string {
  return r.suggested !== undefined
    ? `Call again with ${r.input}: "${r.suggested}".`
    : `Call again with ${r.input} set to one of: ${r.choices.join(', ')}.`;
}

/**
 * Hints in the core speak to CLI users (`coffer list`, `--description`); an agent calls
 * tools and passes arguments. A refusal that says what to name instead (RetryWith) becomes
 * the argument to pass; a catalogue hint with an agent version is replaced; elsewhere
 * the description flag becomes the argument (keeping the hint's example), a command that
 * has a tool becomes the tool, and any other command is framed as the user's to run.
 */
function forAgents(err: CofferError): string | undefined {
  if (err.retryWith !== undefined) return retryHint(err.retryWith);
  const agent = AGENT_HINTS[err.code];
  if (agent !== undefined && err.hint === defaultHint(err.code)) return agent;
  const hint = err.hint
    ?.replace(/Pass --description /g, 'Pass a description argument ')
    .replace(/`coffer (?:list|ls)\b[^`]*`/g, 'the list_secrets tool')
    .replace(/`coffer get\b[^`]*`/g, 'the get_secret tool')
    .replace(/`coffer verify\b[^`]*`/g, 'the verify_secret tool');
  if (hint !== undefined && /`coffer [a-z]/.test(hint) && !/ask the user/i.test(hint)) {
    return `The user must do this in a terminal (you cannot): ${hint}`;
  }
  return hint;
}

/** The safe description of any error: a CofferError's code, message and hint, or INTERNAL. */
export function toolError(err: unknown): ToolError {
  if (err instanceof CofferError) {
    const hint = forAgents(err);
    return { code: err.code, message: err.message, ...(hint ? { hint } : {}) };
  }
  // Unexpected errors may carry anything in their text; only their class name is shown.
  const name = err instanceof Error ? err.name : typeof err;
  return { code: 'INTERNAL', message: `internal error (${name}); see the server's log` };
}

export function errorResult(error: ToolError): ToolResult {
  const data = { error };
  return {
    content: [{ type: 'text', text: JSON.stringify(data) }],
    structuredContent: data,
    isError: true,
  };
}

/** Values shorter than this (in characters) get no preview at all: `…`. */
export const PREVIEW_MIN_CHARS = 16;

/**
 * A hint of a value that never reveals a meaningful share of it: nothing for a value under
 * 16 characters (a PIN, a short password), else the first `min(4, floor(n / 8))` characters
 * of an n-character value, then `…` (`sk_live_abc123xyz` -> `sk…`; 32 or more characters
 * show 4).
 */
export function previewOf(value: string): string {
  const chars = Array.from(value);
  if (chars.length < PREVIEW_MIN_CHARS) return '…';
  const shown = Math.min(4, Math.floor(chars.length / 8));
  return `${chars.slice(0, shown).join('')}…`;
}
