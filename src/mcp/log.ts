/**
 * The MCP server's log: JSON lines (pino) on stderr, because stdout carries only protocol
 * messages. One line when a client connects and one per tool call (tool, key path or
 * project, environment, outcome, error code, duration), never a value or a description.
 *
 * As a second line of defence every line passes through `coffer/redact`'s pino hooks with
 * the well-known secret patterns on, so a value that reached a log call by mistake would be
 * masked. The level comes from COFFER_LOG_LEVEL (default `info`; `silent` turns it off).
 */

import pino from 'pino';
import { pinoRedactHooks } from '../core/redact/pino.js';
import { createRedactor } from '../core/redact/redact.js';

/** The part of a pino logger the server uses (tests pass a collecting fake). */
export interface McpLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** A pino logger writing synchronously to stderr (fd 2). */
export function createStderrLogger(): McpLogger {
  const wanted = process.env.COFFER_LOG_LEVEL ?? 'info';
  const logger = pino(
    {
      name: 'coffer-mcp',
      level: LEVELS.has(wanted) ? wanted : 'info',
      hooks: pinoRedactHooks(createRedactor({ patterns: true })),
    },
    pino.destination({ dest: 2, sync: true }),
  );
  return {
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
  };
}
