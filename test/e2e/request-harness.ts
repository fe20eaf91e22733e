/**
 * request_secret end to end, local or through `coffer serve`: the built `coffer mcp` with the
 * SDK's client, which plays the agent's host (it declares URL-mode elicitation, or not) and
 * keeps every JSON-RPC message it exchanges, and the user, who opens the one-time page over
 * HTTP and submits a value (or declines) with the page's own form.
 */
import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, expect } from 'vitest';
import { BIN } from './harness.js';

export interface Answer {
  status: number;
  body: string;
}

/**
 * One HTTP request with exactly these headers (fetch would add or refuse some); sent to `via`
 * (one of several instances behind the URL's address) when given, with the URL's Host.
 */
export function http(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: string,
  via?: string,
): Promise<Answer> {
  const u = new URL(url);
  const target = via === undefined ? u : new URL(`${u.pathname}${u.search}`, via);
  return new Promise((resolve, reject) => {
    const req = httpRequest(target, { method, headers: { Host: u.host, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString('utf8');
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The user: opens the page (on `via`), then stores `value` (or declines) with its form. */
export async function playUser(url: string, value: string | null, via?: string): Promise<Answer> {
  const page = await http('GET', url, {}, undefined, via);
  expect(page.status, page.body).toBe(200);
  // The page names the secret asked for.
  expect(page.body).toMatch(/(?:project|meta)\/[\w-]+\/[\w-]+/);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const form = new URLSearchParams({ csrf, action: value === null ? 'decline' : 'store' });
  if (value !== null) form.set('value', value);
  return http(
    'POST',
    url,
    { Origin: new URL(url).origin, 'Content-Type': 'application/x-www-form-urlencoded' },
    form.toString(),
    via,
  );
}

export interface RequestSession {
  client: Client;
  /** Every JSON-RPC message in either direction, as text. */
  wire: string[];
  stderr(): string;
  elicitations: { url: string; elicitationId: string; message: string }[];
  completed: string[];
  close(): Promise<void>;
}

/** How the host answers an elicitation, and what the user then does with its URL. */
export interface Elicit {
  reply: 'accept' | 'decline' | 'cancel';
  user?: (url: string) => Promise<unknown>;
}

const sessions: RequestSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
});

/**
 * `coffer mcp` with a client that declares URL elicitation (answering with `elicit.reply`,
 * then calling `elicit.user` with the URL) or, without `elicit`, none. Closed after the test.
 * `protocol` 2026-07-28: the elicitation comes embedded in an `input_required` result, which
 * the SDK's client fulfils with the same handler and retries (no completion notification).
 */
export async function startRequestSession(
  env: Record<string, string>,
  cwd: string,
  elicit?: Elicit,
  protocol = '2025-11-25',
): Promise<RequestSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp'],
    env,
    cwd,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const client = new Client(
    { name: 'request-e2e', version: '1.0.0' },
    {
      ...(protocol >= '2026'
        ? { versionNegotiation: { mode: { pin: protocol } } }
        : { supportedProtocolVersions: [protocol] }),
      ...(elicit === undefined ? {} : { capabilities: { elicitation: { url: {} } } }),
    },
  );
  const session: RequestSession = {
    client,
    wire: [],
    stderr: () => stderr,
    elicitations: [],
    completed: [],
    close: () => client.close(),
  };
  if (elicit !== undefined) {
    client.setRequestHandler('elicitation/create', async (req) => {
      const p = req.params as { url: string; elicitationId: string; message: string };
      session.elicitations.push(p);
      if (elicit.user !== undefined) setTimeout(() => void elicit.user!(p.url), 0);
      return { action: elicit.reply };
    });
    client.setNotificationHandler('notifications/elicitation/complete', (n) => {
      session.completed.push((n.params as { elicitationId: string }).elicitationId);
    });
  }
  const send = transport.send.bind(transport);
  transport.send = ((m: unknown, ...rest: unknown[]) => {
    session.wire.push(JSON.stringify(m));
    return (send as (...a: unknown[]) => Promise<void>)(m, ...rest);
  }) as typeof transport.send;
  await client.connect(transport);
  const onmessage = transport.onmessage as ((...a: unknown[]) => void) | undefined;
  transport.onmessage = ((m: unknown, ...rest: unknown[]) => {
    session.wire.push(JSON.stringify(m));
    onmessage?.(m, ...rest);
  }) as NonNullable<typeof transport.onmessage>;
  sessions.push(session);
  return session;
}

export type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown> };

export const callTool = (s: RequestSession, name: string, args: Record<string, unknown>) =>
  s.client.callTool({ name, arguments: args }) as Promise<ToolResult>;
