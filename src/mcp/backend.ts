/**
 * What the MCP tools need from a vault, as one small interface. The tools call only these
 * methods, so they run the same against the local vault (`localMcpBackend`) and against a
 * `coffer serve` server in remote mode (`remoteMcpBackend`: COFFER_URL + COFFER_TOKEN).
 *
 * Every call is made on behalf of one actor (the MCP client, see identity.ts): `as(actor)`
 * binds it, and the local vault writes it into each audit record. A server audits every
 * request as the name of the token it came with instead (the HTTP API takes no actor from
 * its clients), and it stores no generator spec: the API has no field for one, so
 * generate_secret's value is stored with its description only.
 *
 * A call the MCP server's own policy refuses (`--allow`, `--env`, `--read-only`) is audited
 * through `denied`: in the local vault like an HTTP 403; in remote mode it never reaches the
 * server and is logged on stderr only.
 */
import type { Target } from '../core/access/policy.js';
import { CofferError } from '../core/errors.js';
import {
  type RotationStatusOptions,
  type RotationStatusReport,
  rotationStatus,
} from '../core/rotation/status.js';
import type { SecretMetadata } from '../core/store/storage.js';
import type {
  SecretInfo,
  SecretValue,
  SetResult,
  Vault,
  VerifyReport,
} from '../core/store/vault.js';

/** The vault operations of the tools, bound to one actor. */
export interface McpVault {
  set(
    path: string,
    env: string,
    value: string,
    options: {
      description?: string | undefined;
      metadata?: Partial<Omit<SecretMetadata, 'description'>> | undefined;
      allowEmpty?: boolean | undefined;
    },
  ): Promise<SetResult>;
  get(path: string, env: string, options?: { version?: number | undefined }): Promise<SecretValue>;
  /** Metadata only; `prefix` is `project`, `meta`, `project/P` or `meta/S`. */
  list(options: { prefix: string; env: string }): Promise<SecretInfo[]>;
  /**
   * Metadata of every environment under `prefix`, where the backend can list them all (the
   * local vault; the remote one lists one environment at a time and leaves this out).
   */
  listAllEnvs?(prefix: string): Promise<SecretInfo[]>;
  /** One secret's metadata (deleted ones included). */
  info(path: string, env: string): Promise<SecretInfo>;
  /** Decrypts and authenticates every version of one secret in one environment. */
  verify(path: string, env: string): Promise<VerifyReport>;
  /** Audits a call the server's policy refused (outcome `denied`, detail = the reason). */
  denied(action: string, target: Target, reason: string): Promise<void>;
  /** The rotation status (names, dates, policies; no value). */
  rotationStatus(options: RotationStatusOptions): Promise<RotationStatusReport>;
}

export interface McpBackend {
  /** The operations, audited as `actor`. */
  as(actor: string): McpVault;
  close(): Promise<void>;
}

/** The local vault (already open and unlocked) as a backend; `close` is the owner's. */
export function localMcpBackend(vault: Vault, close: () => Promise<void>): McpBackend {
  const byActor = new Map<string, McpVault>();
  return {
    as(actor) {
      let bound = byActor.get(actor);
      if (bound === undefined) {
        const v = vault.withActor(actor);
        bound = {
          set: (path, env, value, options) => v.set(path, env, value, options),
          get: (path, env, options) => v.get(path, env, options),
          list: (options) => v.list(options),
          listAllEnvs: (prefix) => v.list({ prefix }),
          info: (path, env) => v.info(path, env),
          verify: (path, env) => v.verify(path, env),
          denied: (action, target, reason) => v.recordDenied(action, target, reason),
          rotationStatus: (options) => rotationStatus(v, options),
        };
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
  const vault: McpVault = {
    set: fail,
    get: fail,
    list: fail,
    info: fail,
    verify: fail,
    rotationStatus: fail,
    // Nothing to audit into: the refusal is logged on stderr by the server.
    denied: async () => {},
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
 * The server operations remote mode offers (the CLI's remote backend, cli/remote-backend.ts,
 * over `coffer/client`), as far as the tools need them.
 */
export interface RemoteSecrets {
  get(path: string, env: string, options: { version?: number | undefined }): Promise<SecretValue>;
  set(
    path: string,
    env: string,
    value: string,
    options: {
      description?: string | undefined;
      allowEmpty?: boolean | undefined;
      metadata?: Partial<Omit<SecretMetadata, 'description'>> | undefined;
    },
  ): Promise<SetResult>;
  list(options: { prefix?: string | undefined; env?: string | undefined }): Promise<SecretInfo[]>;
  info(path: string, env: string): Promise<SecretInfo>;
  verify(path: string | undefined, env: string | undefined): Promise<VerifyReport>;
  close(): Promise<void>;
}

/**
 * A `coffer serve` server as a backend. The actor is not sent (the server audits the
 * token's name); metadata (tier, rotation, generator spec, ...) goes with the value, as
 * locally.
 */
export function remoteMcpBackend(remote: RemoteSecrets): McpBackend {
  const ops: McpVault = {
    set: (path, env, value, options) =>
      remote.set(path, env, value, {
        description: options.description,
        ...(options.allowEmpty === true ? { allowEmpty: true } : {}),
        ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
      }),
    get: (path, env, options) => remote.get(path, env, { version: options?.version }),
    list: (options) => remote.list({ prefix: options.prefix, env: options.env }),
    info: (path, env) => remote.info(path, env),
    verify: (path, env) => remote.verify(path, env),
    rotationStatus: async () => {
      throw new CofferError(
        'USAGE',
        'rotation_status is not available in remote mode (COFFER_URL is set) yet',
        { hint: 'Ask the user to run `coffer rotation status` where the vault is.' },
      );
    },
    // The server never sees a call this MCP server refused itself, and its API takes no
    // audit records from clients: such a refusal is in the MCP server's stderr log only.
    denied: async () => {},
  };
  return { as: () => ops, close: () => remote.close() };
}
