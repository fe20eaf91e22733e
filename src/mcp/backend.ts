/**
 * Where the MCP tools' SecretsService (core/service) comes from. The tools call only its
 * methods, so they run the same against the local vault (`localMcpBackend`: `vault.as`)
 * and against a `coffer serve` server in remote mode (`remoteMcpBackend`: the
 * `coffer/client` implementation, COFFER_URL + COFFER_TOKEN).
 *
 * Every call is made on behalf of one actor (the MCP client, see identity.ts): `as(actor)`
 * binds it, and the local vault writes it into each audit record. A server audits every
 * request as the name of the token it came with instead (the HTTP API takes no actor from
 * its clients); metadata (tier, rotation, generator spec, ...) goes with the value, as
 * locally.
 *
 * A call the MCP server's own policy refuses (`--allow`, `--env`, `--read-only`) is audited
 * through `denied`: in the local vault like an HTTP 403; in remote mode it never reaches the
 * server and is logged on stderr only.
 */
import { agentLabelFor } from '../core/access/agent-label.js';
import type { AccessPolicy } from '../core/access/policy.js';
import { CofferError } from '../core/errors.js';
import { withPolicy } from '../core/service/policy-service.js';
import type { SecretsService } from '../core/service/secrets-service.js';
import type { Vault } from '../core/store/vault.js';
import { type RequestApi, remoteRequests } from './requests.js';
import type { RequestRegistry } from './tools/tool.js';

export interface McpBackend {
  /** The service, audited as `actor`. */
  as(actor: string): SecretsService;
  /** Where `actor`'s request_secret requests go; absent: this process (its page). */
  requests?(actor: string): RequestRegistry;
  close(): Promise<void>;
}

/**
 * The local vault (already open and unlocked) as a backend: `vault.as(actor, policy)`, so
 * the server's policy bounds every call; `close` is the owner's.
 */
export function localMcpBackend(
  vault: Vault,
  close: () => Promise<void>,
  policy?: AccessPolicy,
): McpBackend {
  const byActor = new Map<string, SecretsService>();
  return {
    as(actor) {
      let bound = byActor.get(actor);
      if (bound === undefined) {
        bound = vault.as(actor, policy);
        byActor.set(actor, bound);
      }
      return bound;
    },
    close,
  };
}

/**
 * A backend for a vault that could not be opened (none yet, no master key, ...): the server
 * still completes the MCP handshake and lists its tools, and every call fails with `error`,
 * which tells the agent what the user has to do. Without it the process would exit before
 * the handshake, and the agent would see only "connection closed".
 */
export function unavailableMcpBackend(error: CofferError): McpBackend {
  const fail = async (): Promise<never> => {
    throw error;
  };
  const vault: SecretsService = {
    remote: false,
    get: fail,
    getMany: fail,
    set: fail,
    list: fail,
    info: fail,
    history: fail,
    readProject: fail,
    verify: fail,
    audit: fail,
    auditVerify: fail,
    rotationStatus: fail,
    // Nothing to audit into: the refusal is logged on stderr by the server.
    denied: async () => {},
    close: async () => {},
  };
  return { as: () => vault, close: async () => {} };
}

/**
 * The error every tool answers with when the vault cannot be opened: the cause, and what the
 * user (not the agent) has to do before restarting the server.
 */
export function vaultUnavailableError(cause: CofferError): CofferError {
  const fix =
    cause.code === 'VAULT_NOT_FOUND'
      ? 'Ask the user to create the vault with `coffer init` in a terminal (with the same COFFER_HOME as this server), then to restart this MCP server.'
      : `Ask the user to fix this in a terminal, then to restart this MCP server.${cause.hint ? ` ${cause.hint}` : ''}`;
  return new CofferError(cause.code, `the coffer vault cannot be used: ${cause.message}`, {
    hint: fix,
    cause,
  });
}

/**
 * A `coffer serve` server as a backend (its SecretsService from `coffer/client`). Each actor
 * gets a service whose requests carry it as their agent label (`X-Coffer-Agent`,
 * core/access/agent-label.ts), which the server records after the token's name. The server
 * applies the token's policy; `policy` (the MCP server's --allow, --env, --read-only) bounds
 * every call before it, through core's `withPolicy`. `open(label)` makes the service for a
 * label.
 */
export function remoteMcpBackend(
  open: (agent: string | undefined) => { service: SecretsService; requests?: RequestApi },
  policy?: AccessPolicy,
): McpBackend {
  const byActor = new Map<string, { service: SecretsService; requests?: RequestRegistry }>();
  const of = (actor: string) => {
    let bound = byActor.get(actor);
    if (bound === undefined) {
      const opened = open(agentLabelFor(actor));
      bound = {
        // The MCP server's own policy bounds every call, as locally: the token alone would
        // let a value refer to, or a project read reach, what --allow and --env leave out.
        service: policy === undefined ? opened.service : withPolicy(opened.service, policy),
        ...(opened.requests === undefined ? {} : { requests: remoteRequests(opened.requests) }),
      };
      byActor.set(actor, bound);
    }
    return bound;
  };
  return {
    as: (actor) => of(actor).service,
    requests: (actor) => {
      const r = of(actor).requests;
      if (r === undefined) {
        throw new CofferError('USAGE', 'this server takes no requests for values');
      }
      return r;
    },
    close: async () => {
      await Promise.all([...byActor.values()].map((s) => s.service.close()));
    },
  };
}
