/**
 * `request_secret({ keyPath, description, env?, writeEnv? })`: a value only the user has (an
 * API key from a provider's dashboard) goes from the user to the vault without passing
 * through the model. coffer opens a one-time page on 127.0.0.1 (request-page.ts, rules in
 * core/requests) where the user sees which agent asks, for which key path and why, and pastes
 * the value; coffer stores it (the path and description rules apply), then writes the .env
 * file when `writeEnv` names one (store first, .env second).
 *
 * - A client that declared URL-mode elicitation (protocol 2025-11-25) gets an
 *   `elicitation/create` with `mode: "url"`; once the user has submitted the page, the server
 *   sends `notifications/elicitation/complete` and the tool answers with the outcome.
 * - On protocol 2026-07-28 (no server-to-client requests) the first call answers
 *   `input_required` with the same URL elicitation embedded and the request sealed in
 *   `requestState`; the client asks the user and calls again with the answer and the state,
 *   and that call waits for the page as above (or ends the request when the user declined;
 *   a retry without a readable answer gets the link, as below).
 * - Any other client gets the link for the user to open (it carries no secret: a one-time
 *   capability to submit a value) and a request id; `request_status({ requestId })` says when
 *   the value is stored.
 *
 * Results hold names, versions and statuses only.
 *
 * `request_status({ requestId })`: the state of a request made by this server.
 */
import * as z from 'zod';
import { authorizeAgentEnvFile } from '../../core/agents/env-file.js';
import { CofferError } from '../../core/errors.js';
import { parseDescription } from '../../core/paths.js';
import type { SecretRequestView } from '../../core/requests/secret-requests.js';
import { toolError } from '../results.js';
import {
  type CofferTool,
  defineTool,
  descriptionField,
  envField,
  keyPathField,
  READ_ONLY,
  type RequestContext,
  type ToolContext,
  target,
} from './tool.js';
import { writeEnvTool } from './write-env-tool.js';

const statusOutput = z.object({
  requestId: z.string(),
  status: z
    .enum(['pending', 'opened', 'stored', 'declined', 'expired', 'failed'])
    .describe('pending: not opened yet; opened: the user has the page; stored: in the vault'),
  keyPath: z.string(),
  env: z.string(),
  version: z.number().int().optional().describe('The stored version, once stored'),
  written: z.array(z.string()).optional().describe('Variables written to writeEnv, once stored'),
  writeEnvError: z
    .string()
    .optional()
    .describe(
      'Why writeEnv could not be written although the value is stored (call write_env once fixed)',
    ),
  expiresAt: z.string().describe('When the link stops working'),
  url: z
    .string()
    .optional()
    .describe('The page for the user to open, when the client could not open it itself'),
  message: z.string().describe('What happened, or what to tell the user'),
});

function requestsOf(ctx: ToolContext): RequestContext {
  if (ctx.requests === undefined) {
    throw new CofferError('INVALID_ARGUMENT', 'this server cannot take values from the user', {
      hint: 'Ask the user to store the value with `coffer set PATH` in their terminal.',
    });
  }
  return ctx.requests;
}

/** Requests whose .env file this process has written (remote mode), by id. */
const envWritten = new Map<string, string[]>();

/** A request's view (writeEnvError: why its .env file could not be written once stored). */
type Outcome = SecretRequestView;

/**
 * A stored request with `writeEnv` where the registry does not write the file itself (remote
 * mode: the server stored the value): the file is written here, once, store first then .env.
 * A failed write leaves the value stored: the outcome says so and why (a coded message, never
 * a value), and the next request_status tries again.
 */
async function written(r: SecretRequestView, ctx: ToolContext): Promise<Outcome> {
  const registry = ctx.requests?.registry;
  if (r.status !== 'stored' || r.writeEnv === undefined || registry?.writesEnv !== false) return r;
  let names = envWritten.get(r.id);
  if (names === undefined) {
    try {
      const out = await writeEnvTool.run(
        { project: r.path.split('/')[1]!, env: r.env, file: r.writeEnv, keyPaths: [r.path] },
        ctx,
      );
      names = (out as { written: string[] }).written;
    } catch (err) {
      const { code, message } = toolError(err);
      return { ...r, writeEnvError: `${message} (${code})` };
    }
    envWritten.set(r.id, names);
  }
  return { ...r, written: names };
}

function storedMessage(r: Outcome): string {
  const stored = `Stored ${r.path} (${r.env}) version ${r.version}`;
  if (r.writeEnvError !== undefined) {
    return (
      `${stored}, but writing ${r.writeEnv} failed: ${r.writeEnvError}. The value is in the vault: ` +
      'do not ask the user for it again; once the cause is fixed, call write_env (or request_status) to write the file.'
    );
  }
  const files = r.written?.length ? `; written to ${r.writeEnv}: ${r.written.join(', ')}` : '';
  return `${stored}${files}. The value was never in this conversation.`;
}

function answer(r: Outcome, url?: string): z.output<typeof statusOutput> {
  const messages: Record<SecretRequestView['status'], string> = {
    pending: `Ask the user to open the link to give the value for ${r.path}; then call request_status.`,
    opened: 'The user has the page open; call request_status again later.',
    stored: storedMessage(r),
    declined: 'The user declined: nothing was stored.',
    expired: 'The link expired before a value was given: nothing was stored.',
    failed: `Storing failed: ${r.error ?? 'unknown error'}`,
  };
  return {
    requestId: r.id,
    status: r.status,
    keyPath: r.path,
    env: r.env,
    ...(r.version === undefined ? {} : { version: r.version }),
    ...(r.written === undefined ? {} : { written: r.written }),
    ...(r.writeEnvError === undefined ? {} : { writeEnvError: r.writeEnvError }),
    expiresAt: r.expiresAt,
    ...(url === undefined ? {} : { url }),
    message: messages[r.status],
  };
}

export const requestSecretTool: CofferTool = defineTool({
  name: 'request_secret',
  title: 'Ask the user for a secret value',
  description:
    'When a secret value must come from the user (an API key, a password), call this instead of asking for it in the chat: ' +
    'the user gets a one-time local page, pastes the value there, and coffer stores it (and writes writeEnv, if given). ' +
    'You never see the value. If the client cannot open the page itself, the result holds a link to give the user and a requestId for request_status.',
  input: z.object({
    keyPath: keyPathField,
    description: descriptionField,
    env: envField,
    writeEnv: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('A dotenv file to write the variable into after storing, e.g. ".env"'),
  }),
  output: statusOutput,
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  async run(args, ctx) {
    const requests = requestsOf(ctx);
    const { path, env } = await target(args.keyPath, args.env, ctx, 'write', 'request_secret');
    const description = parseDescription(args.description, path);
    if (args.writeEnv !== undefined && !path.startsWith('project/')) {
      throw new CofferError('INVALID_ARGUMENT', 'writeEnv needs a project/ key path');
    }
    // A file write_env would refuse is refused now, before the user is asked for the value.
    if (args.writeEnv !== undefined) {
      await authorizeAgentEnvFile(
        (a, t, r) => ctx.vault.denied(a, t, r),
        'request_secret',
        { path, env },
        ctx.cwd,
        args.writeEnv,
      );
    }
    const retry = requests.round?.retry;
    if (retry !== undefined) {
      // Protocol 2026-07-28, second round: the client has asked the user (or not).
      if (retry.state.path !== path || retry.state.env !== env) {
        throw new CofferError(
          'INVALID_ARGUMENT',
          `this call continues a request for ${retry.state.path} (${retry.state.env}), not ${path} (${env})`,
        );
      }
      if (retry.answer === 'missing') {
        // The client retried without an answer the server can read: nothing is decided, and
        // the agent gets the link to show the user, as a client without URL elicitation does.
        return answer(await requests.registry.status(retry.state.id), retry.state.url);
      }
      if (retry.answer !== 'accept') {
        return answer(
          await requests.registry.decline(retry.state.id, `the client (${retry.answer})`),
        );
      }
      return answer(
        await written(await requests.registry.wait(retry.state.id, requests.signal), ctx),
      );
    }
    const { request, url } = await requests.registry.open({
      path,
      env,
      description,
      writeEnv: args.writeEnv,
      actor: requests.actor,
    });
    const message = `${requests.actor} asks for the value of ${path} (${env}): ${description}. Open the page to give it to coffer; the agent never sees it.`;
    if (requests.round?.canElicitUrl === true) {
      // The result of this call becomes the input_required that asks the client to open it.
      await requests.round.ask({
        message,
        state: { tool: 'request_secret', id: request.id, path, env, url },
      });
      return answer(request, url);
    }
    if (requests.elicitUrl === undefined) return answer(request, url);
    const action = await requests.elicitUrl({ message, url, elicitationId: request.id });
    if (action !== 'accept') {
      return answer(await requests.registry.decline(request.id, `the client (${action})`));
    }
    const end = await written(await requests.registry.wait(request.id, requests.signal), ctx);
    if (end.status === 'stored' || end.status === 'declined' || end.status === 'failed') {
      await requests.notifyComplete?.(request.id);
    }
    return answer(end);
  },
});

export const requestStatusTool: CofferTool = defineTool({
  name: 'request_status',
  title: 'State of a secret request',
  description:
    'The state of a request_secret request: pending, opened, stored (with the version), declined, expired or failed. Never a value.',
  input: z.object({
    requestId: z.string().min(1).max(100).describe('The requestId request_secret answered with'),
  }),
  output: statusOutput,
  annotations: READ_ONLY,
  async run(args, ctx) {
    return answer(await written(await requestsOf(ctx).registry.status(args.requestId), ctx));
  },
});
