/**
 * Starts the built `coffer mcp` (dist/cli.cjs) with the MCP SDK's stdio client, offering
 * exactly one protocol version (2025-era ones through `initialize`, 2026-07-28 through
 * `server/discover`), and keeps everything it said: tool results, stderr lines,
 * and transport or protocol errors (a non-protocol line on stdout would show up there).
 */
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { BIN } from './harness.js';

export const CLIENT_INFO = { name: 'coffer-e2e', version: '1.0.0' };

/** The seed's example secret. */
export const STRIPE = 'project/consilio/stripe_api_key';
export const STRIPE_VALUE = 'sk_live_abc123xyz';

/** Every tool, in tools/list order. */
export const TOOLS = [
  'set_secret',
  'get_secret',
  'list_secrets',
  'verify_secret',
  'generate_secret',
  'write_env',
  'manifest_status',
  'setup_project',
  'rotation_status',
  'report_leak',
  'request_secret',
  'request_status',
];

export interface McpSession {
  client: Client;
  /** Calls a tool and records its result. */
  call(name: string, args: Record<string, unknown>): Promise<CallResult>;
  /** Every tool result so far, as JSON text. */
  results: string[];
  /** stderr so far. */
  stderr(): string;
  /** Errors the client saw outside of requests (e.g. unparsable stdout). */
  errors: Error[];
  close(): Promise<void>;
}

export interface CallResult {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: { type: string; text?: string }[];
}

export async function startMcp(options: {
  env: Record<string, string>;
  cwd: string;
  protocol: string;
  args?: string[];
}): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', ...(options.args ?? [])],
    env: options.env,
    cwd: options.cwd,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  // 2025-era versions are offered in `initialize`; 2026-07-28 is negotiated by
  // `server/discover`, which the SDK client does only when asked to (a pinned version).
  const client = new Client(
    CLIENT_INFO,
    options.protocol >= '2026'
      ? { versionNegotiation: { mode: { pin: options.protocol } } }
      : { supportedProtocolVersions: [options.protocol] },
  );
  const errors: Error[] = [];
  client.onerror = (err) => errors.push(err);
  await client.connect(transport);
  const results: string[] = [];
  return {
    client,
    results,
    errors,
    stderr: () => stderr,
    async call(name, args) {
      const r = (await client.callTool({ name, arguments: args })) as CallResult;
      results.push(JSON.stringify(r));
      return r;
    },
    close: () => client.close(),
  };
}

/** The text block of a result, parsed (it is the same JSON as structuredContent). */
export function textJson(r: CallResult): unknown {
  return JSON.parse(r.content[0]?.text ?? 'null');
}
