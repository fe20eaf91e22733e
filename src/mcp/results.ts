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
import { CofferError, type ErrorCode } from '../core/errors.js';

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
 * Hints in the core speak to CLI users (`--description`); an agent passes arguments.
 * The rewrite keeps the hint's example.
 */
function forAgents(hint: string | undefined): string | undefined {
  return hint?.replace(/Pass --description /g, 'Pass a description argument ');
}

/** The safe description of any error: a CofferError's code, message and hint, or INTERNAL. */
export function toolError(err: unknown): ToolError {
  if (err instanceof CofferError) {
    const hint = forAgents(err.hint);
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
