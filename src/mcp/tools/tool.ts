/**
 * The shape every coffer MCP tool has, and the argument fields they share.
 *
 * A tool is data (name, description, zod input and output schemas, annotations) plus `run`,
 * which gets arguments the SDK has already checked against `input` and returns what must
 * match `output`. `run` throws CofferErrors; server.ts turns them into error results and
 * writes the log line. Annotations are hints for clients: they say what a tool really does
 * (`readOnlyHint` for tools that change no secret and no file; an audit record is always
 * written), never what would look reassuring.
 */
import * as z from 'zod';
import { type AccessPolicy, authorize, type Target } from '../../core/access/policy.js';
import { parseEnvironment, parseKeyPath } from '../../core/paths.js';
import { projectOfPath } from '../../core/project-file/index.js';
import type { SecretRequestInput, SecretRequestView } from '../../core/requests/secret-requests.js';
import type { SecretsService } from '../../core/service/secrets-service.js';
import type { TokenCapability } from '../../core/store/storage.js';

export type { RevealPolicy } from '../../core/access/policy.js';

/** What a tool run may use. */
export interface ToolContext {
  /** The secrets service, bound to the calling MCP client (local vault or a server). */
  vault: SecretsService;
  /** The server's policy (mcp/policy.ts): globs, environments, capabilities, reveal. */
  policy: AccessPolicy;
  /**
   * The environment when a call names none: one for every call, or the one for the project
   * the call works on (undefined: a meta/ path, a whole-vault list), as `coffer mcp` gives it:
   * its first `--env`, else COFFER_ENV, else the project file's `env` when the file is that
   * project's (core/project-file/settings.ts), else `dev`.
   */
  defaultEnv: DefaultEnv;
  /** The directory files are written under (the server's working directory). */
  cwd: string;
  /** request_secret's machinery; absent where the server offers no request page. */
  requests?: RequestContext;
}

/**
 * Where requests live: this process (`localRequests`: the page on 127.0.0.1) or a `coffer
 * serve` server (`remoteRequests`: its page, its store).
 */
export interface RequestRegistry {
  /** Opens a request: its view and the page URL for the user. */
  open(input: SecretRequestInput): Promise<{ request: SecretRequestView; url: string }>;
  status(id: string): Promise<SecretRequestView>;
  /** Resolves once the request is stored, declined, expired or failed, or `signal` aborts. */
  wait(id: string, signal?: AbortSignal): Promise<SecretRequestView>;
  /** The client declined (or cancelled) the elicitation. */
  decline(id: string, by: string): Promise<SecretRequestView>;
  /** false: the .env file of `writeEnv` is written by the tool once stored (remote mode). */
  writesEnv: boolean;
}

/** What request_secret and request_status use besides the vault. */
export interface RequestContext {
  registry: RequestRegistry;
  /** Who asks: the client's declared name (and COFFER_AGENT_ID). */
  actor: string;
  /** A URL-mode elicitation, when the client declared support for it; the client's answer. */
  elicitUrl?: (params: { message: string; url: string; elicitationId: string }) => Promise<string>;
  /** Sends notifications/elicitation/complete for an elicitation id. */
  notifyComplete?: (elicitationId: string) => Promise<void>;
  /** Protocol 2026-07-28, where a URL elicitation rides the tool's result: this round. */
  round?: InputRound;
  /** Aborted when the client cancels the tool call. */
  signal?: AbortSignal;
}

/**
 * The request a retried call continues (sealed in its `requestState`): the tool it belongs
 * to, the request's id, key path and environment, and its page (which the client was shown
 * in the first round already).
 */
export interface RoundState {
  tool: string;
  id: string;
  path: string;
  env: string;
  url: string;
}

/**
 * A request_secret call on protocol 2026-07-28: the server has no requests of its own to send
 * the client, so the first round answers `input_required` with the URL elicitation and the
 * request sealed in `requestState`; the client asks the user and calls again with its answer.
 */
export interface InputRound {
  /** The client declared URL-mode elicitation in this request's capabilities. */
  canElicitUrl: boolean;
  /** A retried call: its request (state verified by the server) and the client's answer. */
  retry?: { state: RoundState; answer: 'accept' | 'decline' | 'cancel' | 'missing' };
  /** Makes this call's result the `input_required` one that asks the client to open `url`. */
  ask(params: { message: string; state: RoundState }): Promise<void>;
}

/** The default environment of calls that name none: fixed, or by the call's project. */
export type DefaultEnv = string | ((project: string | undefined) => string);

/**
 * The validated environment of a call on `project`: its own `env`, else the server's default
 * for that project. A call on another project than the project file's never gets that file's
 * `env`, as `coffer run --project other` does not.
 */
export function callEnv(
  ctx: ToolContext,
  env: string | undefined,
  project: string | undefined,
): string {
  if (env !== undefined) return parseEnvironment(env);
  const d = ctx.defaultEnv;
  return parseEnvironment(typeof d === 'string' ? d : d(project));
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface CofferTool<
  I extends z.ZodObject = z.ZodObject,
  O extends z.ZodObject = z.ZodObject,
> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  run(args: z.output<I>, ctx: ToolContext): Promise<z.output<O>>;
}

/** The annotations of a tool that changes nothing (its audit record aside). */
export const READ_ONLY: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/** Declares a tool with its types inferred from its schemas. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  tool: CofferTool<I, O>,
): CofferTool<I, O> {
  return tool;
}

export const keyPathField: z.ZodString = z
  .string()
  .min(1)
  .max(400)
  .describe(
    'Key path: project/{project}/{name} or meta/{service}/{name}, lowercase letters, digits, - and _ (e.g. project/consilio/stripe_api_key)',
  );

export const envField: z.ZodOptional<z.ZodString> = z
  .string()
  .min(1)
  .max(64)
  .optional()
  .describe(
    "Environment (dev, staging, prod, ...); default: the server's (its --env, COFFER_ENV, the project file's env for that file's project, or dev)",
  );

export const descriptionField: z.ZodString = z
  .string()
  .max(1000)
  .describe(
    'What the secret is for and where it is used, e.g. "Stripe API key for payment processing"; generic text such as "API key" is refused',
  );

export const previewField: z.ZodString = z
  .string()
  .describe(
    'Nothing but … for values under 16 characters; else at most the first 4 characters (and at most 1/8 of the value), then …',
  );

/**
 * Asks core/access whether the server's policy allows `cap` on `target`; a refusal is
 * audited (outcome `denied`, as `action`) and thrown as FORBIDDEN, before the vault is used.
 */
export function authorizeTool(
  ctx: ToolContext,
  cap: TokenCapability,
  action: string,
  target: Target,
): Promise<void> {
  return authorize(ctx.policy, cap, action, target, (a, t, r) => ctx.vault.denied(a, t, r));
}

/** The canonical key path and environment of a call, authorized for `cap` (as `action`). */
export async function target(
  keyPath: string,
  env: string | undefined,
  ctx: ToolContext,
  cap: TokenCapability,
  action: string,
): Promise<{ path: string; env: string }> {
  const { path } = parseKeyPath(keyPath);
  const e = callEnv(ctx, env, projectOfPath(path));
  await authorizeTool(ctx, cap, action, { path, env: e });
  return { path, env: e };
}
