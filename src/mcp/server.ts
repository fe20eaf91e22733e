/**
 * `coffer mcp`: an MCP server (official TypeScript SDK, v2 line) that lets AI coding agents
 * store, check and use secrets through the vault core, and put them to work (generate_secret,
 * write_env) without ever seeing them.
 *
 * - Transport: stdio via the SDK's `serveStdio`, which serves 2025-era clients (`initialize`,
 *   protocol 2024-11-05 to 2025-11-25) and 2026-07-28 ones from the same factory. stdout
 *   carries only protocol messages; the log goes to stderr (log.ts).
 * - Policy, set when the server starts (policy.ts, decided by core/access): key paths
 *   (`--allow`), environments (`--env`), read-only mode (only tools whose `readOnlyHint` is
 *   true are registered), and whether get_secret reveals values (`--reveal allow|never`). A
 *   refused call is audited (outcome `denied`) like an HTTP 403.
 * - Identity: every vault call is audited as the client's declared name and version plus
 *   COFFER_AGENT_ID (identity.ts).
 * - Errors: a tool that fails answers with an error result (results.ts); an unknown tool or
 *   a request the SDK cannot parse is a JSON-RPC error.
 */
import { randomBytes } from 'node:crypto';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  createRequestStateCodec,
  type InputRequiredResult,
  inputRequired,
  inputResponse,
  McpServer,
  type ServerContext,
  type StandardSchemaV1,
  type StandardSchemaWithJSON,
} from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { AccessPolicy } from '../core/access/policy.js';
import { debugTrace } from '../core/debug-trace.js';
import { CofferError } from '../core/errors.js';
import { isValidSegment, parseEnvironment, parseKeyPath } from '../core/paths.js';
import { LinkGuesses } from '../core/requests/link-guesses.js';
import {
  REQUEST_TTL_MS,
  type RequestOutcome,
  SecretRequests,
  type SecretRequestView,
} from '../core/requests/secret-requests.js';
import type { McpBackend } from './backend.js';
import { clientInfoFrom, mcpActor } from './identity.js';
import type { McpLogger } from './log.js';
import { createRequestPage } from './request-page.js';
import { localRequests } from './requests.js';
import { errorResult, okResult, type ToolResult, toolError } from './results.js';
import { TOOLS } from './tools/index.js';
import type { CofferTool, DefaultEnv, InputRound, RoundState, ToolContext } from './tools/tool.js';
import { writeEnvTool } from './tools/write-env-tool.js';

export interface CofferMcpOptions {
  backend: McpBackend;
  /** Globs, environments, capabilities and reveal (mcp/policy.ts). */
  policy: AccessPolicy;
  /** Offer only the tools whose readOnlyHint is true (the policy grants no write then). */
  readOnly: boolean;
  /**
   * The environment of calls that name none: one for all, or by the project a call works on
   * (tools/tool.ts: DefaultEnv).
   */
  defaultEnv: DefaultEnv;
  /** COFFER_AGENT_ID, recorded in the audit actor. */
  agentId: string | undefined;
  /** The directory write_env writes under. */
  cwd: string;
  log: McpLogger;
  /** coffer's version, announced as the server's. */
  version: string;
  /**
   * Audits a request_secret outcome (opened, stored, declined, expired, failed) as `actor`;
   * where absent (remote mode: the server audits the store itself) outcomes are logged only.
   */
  auditRequest?: (
    actor: string,
    request: SecretRequestView,
    outcome: RequestOutcome,
    detail: string,
  ) => Promise<void>;
  /**
   * Audits a refused use of a request's one-time page (wrong Host, Origin or CSRF field) as
   * `actor`, denied, `reason` naming the request and the refusal; where absent, logged only.
   */
  auditRefusal?: (actor: string, request: SecretRequestView, reason: string) => Promise<void>;
  /**
   * Audits that the page refuses links from `address` for a while (too many that name no
   * request; once per window), denied; where absent, logged only.
   */
  auditGuesses?: (address: string, detail: string) => Promise<void>;
  /**
   * The request_secret registry, when another front end in this process answers requests
   * too (the web UI of the same server); default: one of this server's own.
   */
  requests?: SecretRequests | undefined;
}

const INSTRUCTIONS = `coffer keeps secrets (API keys, passwords, tokens) in an encrypted vault.
When you receive or create a secret: FIRST store it with set_secret (or let generate_secret make it), THEN put it into the project's .env file with write_env, THEN check it with verify_secret. Never write secret values into files, commands or messages yourself.
Key paths: project/{project}/{name} or meta/{service}/{name}, lowercase, e.g. project/consilio/stripe_api_key. Descriptions say what the secret is for.`;

/**
 * The arguments that may appear in the log: key path, scope, project and environment, each
 * only when it is valid by the core's grammar. An agent that puts a value into the wrong
 * argument gets an error result, and the value still stays out of the log.
 */
const LOGGED_ARGS: Record<string, (v: string) => boolean> = {
  keyPath: (v) => succeeds(() => parseKeyPath(v)),
  scope: (v) => v === 'project' || v === 'meta',
  project: isValidSegment,
  env: (v) => succeeds(() => parseEnvironment(v)),
};

function succeeds(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

function logFields(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // A value put into another argument too (env: the value) is valid by the grammar, and the
  // call is refused by the core (assertValueNotShown); the log line must not hold it either.
  const value = typeof args.value === 'string' && args.value.length >= 6 ? args.value : undefined;
  for (const [k, valid] of Object.entries(LOGGED_ARGS)) {
    const v = args[k];
    if (typeof v !== 'string') continue;
    out[k] = valid(v) && (value === undefined || !v.includes(value)) ? v : '(invalid)';
  }
  return out;
}

/** Arguments that failed their tool's schema: the issues, which handle() answers. */
const INVALID = Symbol('invalid arguments');
type Issues = readonly StandardSchemaV1.Issue[];

/**
 * A tool's schema as the SDK gets it: listed as it is (its JSON Schema), but its check never
 * fails; failing arguments reach the handler as their issues instead. The SDK would answer
 * them itself, as plain text with no \`structuredContent.error\` and no log line; handle()
 * answers them like every other refusal (INVALID_ARGUMENT, the log line).
 */
function checkedInHandler(schema: StandardSchemaWithJSON): StandardSchemaWithJSON {
  const std = schema['~standard'];
  return {
    '~standard': {
      ...std,
      validate: async (value) => {
        const r = await std.validate(value);
        return r.issues === undefined ? r : { value: { [INVALID]: r.issues } };
      },
    },
  };
}

/**
 * What was wrong with the arguments, for the agent: each argument the schema names and the
 * schema's message (which says what was expected, never what came). Arguments the schema
 * does not name are not repeated: their names are the caller's text.
 */
function invalidArguments(tool: CofferTool, issues: Issues): CofferError {
  const known = new Set(Object.keys(tool.input.shape));
  const parts = issues.slice(0, 5).map((issue) => {
    const first = issue.path?.[0];
    const key = typeof first === 'object' && first !== null ? first.key : first;
    const where = typeof key === 'string' && known.has(key) ? key : 'arguments';
    return `${where}: ${issue.message}`;
  });
  return new CofferError(
    'INVALID_ARGUMENT',
    `invalid arguments for ${tool.name}: ${parts.join('; ')}`,
    {
      hint: 'Call the tool again with the arguments its input schema describes (tools/list).',
    },
  );
}

/** The first protocol revision without server-to-client requests (multi-round-trip results). */
const MODERN_PROTOCOL = '2026-07-28';

/** Builds one server instance (one per connection) with the tools the policy allows. */
export function createCofferMcpServer(options: CofferMcpOptions): McpServer {
  // Protocol 2026-07-28: request_secret's request travels in `requestState`, which the client
  // echoes back. It is sealed with a key of this connection (one process serves every round
  // on stdio) and bound to the method and the client's name; the SDK refuses anything else
  // before a tool runs. It outlives the request by a few minutes, so that a late retry gets
  // the answer "expired" rather than a protocol error (an expired request stays expired).
  const roundState = createRequestStateCodec<RoundState>({
    key: randomBytes(32),
    ttlSeconds: REQUEST_TTL_MS / 1000 + 300,
    bind: (ctx) => `${ctx.mcpReq.method}\0${actorOf(ctx)}`,
  });
  const mcp = new McpServer(
    { name: 'coffer', version: options.version },
    { instructions: INSTRUCTIONS, requestState: { verify: roundState.verify } },
  );
  const { log } = options;

  const toolContext = (actor: string): ToolContext => ({
    vault: options.backend.as(actor),
    policy: options.policy,
    defaultEnv: options.defaultEnv,
    cwd: options.cwd,
  });

  // request_secret: the value goes from the page to the vault, then to the .env file.
  const registry =
    options.requests ??
    new SecretRequests({
      async store(request, value) {
        const ctx = toolContext(request.actor);
        const stored = await ctx.vault.set(request.path, request.env, value, {
          description: request.description,
        });
        if (request.writeEnv === undefined) return { version: stored.version };
        try {
          const out = await writeEnvTool.run(
            {
              project: request.path.split('/')[1]!,
              env: request.env,
              file: request.writeEnv,
              keyPaths: [request.path],
            },
            ctx,
          );
          return { version: stored.version, written: (out as { written: string[] }).written };
        } catch (err) {
          // Stored first: the request is stored, whatever stopped the file (an unexpected
          // error too, told as INTERNAL without its text); the file is for write_env once
          // fixed. Failing the request here would have the agent ask the user again.
          const { code, message } = toolError(err);
          if (code === 'INTERNAL') {
            const detail = process.env.COFFER_DEBUG ? { stack: debugTrace(err) } : {};
            log.warn(
              { tool: 'request_secret', requestId: request.id, code, ...detail },
              'writing the .env file of a stored request failed',
            );
          }
          return { version: stored.version, writeEnvError: `${message} (${code})` };
        }
      },
      async audit(request, outcome, detail) {
        log.info(
          {
            tool: 'request_secret',
            requestId: request.id,
            keyPath: request.path,
            env: request.env,
            actor: request.actor,
            outcome,
          },
          'secret request',
        );
        await options.auditRequest?.(request.actor, request, outcome, detail);
      },
      async refused(request, reason) {
        log.warn(
          {
            tool: 'request_secret',
            requestId: request.id,
            keyPath: request.path,
            env: request.env,
            actor: request.actor,
            outcome: 'denied',
          },
          'secret request page refused',
        );
        await options.auditRefusal?.(request.actor, request, reason);
      },
    });
  const page = createRequestPage(registry, {
    guesses: new LinkGuesses(async (address, detail) => {
      log.warn({ tool: 'request_secret', outcome: 'denied' }, 'secret request page refused');
      await options.auditGuesses?.(address, detail);
    }),
  });
  const local = localRequests(registry, page);
  mcp.server.onclose = () => {
    page.close().catch(() => {});
  };

  const actorOf = (ctx: ServerContext): string => {
    const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
    const declared =
      clientInfoFrom(envelope?.[CLIENT_INFO_META_KEY]) ?? mcp.server.getClientVersion();
    return mcpActor(declared, options.agentId);
  };

  /**
   * A 2026-07-28 call's round (see InputRound) for `tool`; `asked` receives its input_required
   * result. A state sealed for another tool is refused.
   */
  const roundOf = (
    ctx: ServerContext,
    tool: string,
    asked: { result?: InputRequiredResult },
  ): InputRound => {
    const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
    const caps = envelope?.[CLIENT_CAPABILITIES_META_KEY] as
      | { elicitation?: { url?: unknown } }
      | undefined;
    const state = ctx.mcpReq.requestState<RoundState>();
    if (state !== undefined && state.tool !== tool) {
      throw new CofferError('INVALID_ARGUMENT', `this requestState belongs to ${state.tool}`);
    }
    const reply = inputResponse(ctx.mcpReq.inputResponses, 'value');
    return {
      canElicitUrl: caps?.elicitation?.url !== undefined,
      ...(state === undefined
        ? {}
        : { retry: { state, answer: reply.kind === 'elicit' ? reply.action : 'missing' } }),
      async ask({ message, state: next }) {
        asked.result = inputRequired({
          inputRequests: { value: inputRequired.elicitUrl({ message, url: next.url }) },
          requestState: await roundState.mint(next, ctx),
        });
      },
    };
  };

  const handle = async (
    tool: CofferTool,
    args: Record<string, unknown>,
    ctx: ServerContext,
  ): Promise<ToolResult | InputRequiredResult> => {
    const started = performance.now();
    const actor = actorOf(ctx);
    const fields = () => ({
      tool: tool.name,
      ...logFields(args),
      actor,
      ms: Math.round((performance.now() - started) * 100) / 100,
    });
    try {
      const issues = (args as { [INVALID]?: Issues })[INVALID];
      if (issues !== undefined) throw invalidArguments(tool, issues);
      const caps = mcp.server.getClientCapabilities();
      const protocol = mcp.server.getNegotiatedProtocolVersion() ?? '';
      // URL-mode elicitation is a server-to-client request of the 2025-11-25 revision; from
      // 2026-07-28 on it rides the tool's result (roundOf).
      const modern = protocol >= MODERN_PROTOCOL;
      const canElicitUrl = caps?.elicitation?.url !== undefined && !modern;
      const signal = ctx.mcpReq.signal;
      const asked: { result?: InputRequiredResult } = {};
      const out = await tool.run(args, {
        ...toolContext(actor),
        requests: {
          registry: options.backend.requests?.(actor) ?? local,
          actor,
          signal,
          ...(modern ? { round: roundOf(ctx, tool.name, asked) } : {}),
          ...(canElicitUrl
            ? {
                elicitUrl: async (p) =>
                  (
                    await mcp.server.elicitInput(
                      { mode: 'url', ...p },
                      { timeout: REQUEST_TTL_MS, signal },
                    )
                  ).action,
                notifyComplete: (id) => mcp.server.createElicitationCompletionNotifier(id)(),
              }
            : {}),
        },
      });
      if (asked.result !== undefined) {
        log.info({ ...fields(), outcome: 'input_required' }, 'tool call');
        return asked.result;
      }
      log.info({ ...fields(), outcome: 'ok' }, 'tool call');
      return okResult(out);
    } catch (err) {
      const error = toolError(err);
      const detail =
        error.code === 'INTERNAL' && process.env.COFFER_DEBUG ? { stack: debugTrace(err) } : {};
      log.warn({ ...fields(), outcome: 'error', code: error.code, ...detail }, 'tool call failed');
      return errorResult(error);
    }
  };

  for (const tool of TOOLS) {
    if (options.readOnly && !tool.annotations.readOnlyHint) continue;
    mcp.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: checkedInHandler(tool.input),
        outputSchema: tool.output,
        annotations: { title: tool.title, ...tool.annotations },
      },
      (args, ctx) => handle(tool, args as Record<string, unknown>, ctx),
    );
  }

  mcp.server.oninitialized = () => {
    log.info(
      {
        actor: mcpActor(mcp.server.getClientVersion(), options.agentId),
        protocol: mcp.server.getNegotiatedProtocolVersion(),
      },
      'client connected',
    );
  };
  return mcp;
}

/**
 * Serves the tools on stdin/stdout until the client closes stdin or the process gets
 * SIGINT/SIGTERM; resolves once the connection is closed.
 */
export async function serveCofferMcp(options: CofferMcpOptions): Promise<void> {
  const { log } = options;
  log.info(
    {
      version: options.version,
      tools: TOOLS.filter((t) => !options.readOnly || t.annotations.readOnlyHint).map(
        (t) => t.name,
      ),
      allow: options.policy.scope.unrestricted ? ['**'] : options.policy.scope.globs,
      envs: options.policy.envs.length === 0 ? 'any' : options.policy.envs,
      reveal: options.policy.reveal,
      env:
        typeof options.defaultEnv === 'string' ? options.defaultEnv : options.defaultEnv(undefined),
    },
    'coffer mcp serving on stdio',
  );
  await new Promise<void>((resolve) => {
    const handle = serveStdio(() => createCofferMcpServer(options), {
      // SDK errors may quote the raw input (a JSON parse error shows part of the line), so
      // only their class is logged.
      onerror: (error) => log.warn({ error: error.name }, 'protocol error'),
    });
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      handle.close().then(resolve, resolve);
    };
    process.stdin.once('end', stop);
    process.stdin.once('close', stop);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
