/**
 * What the MCP tools need from a vault, as one small interface. The tools call only these
 * methods, so the local vault file (`localMcpBackend`, the only implementation today) can be
 * swapped for a `coffer serve` server later without touching them.
 *
 * Every call is made on behalf of one actor (the MCP client, see identity.ts): `as(actor)`
 * binds it, and the vault writes it into each audit record.
 */
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
    },
  ): Promise<SetResult>;
  get(path: string, env: string, options?: { version?: number | undefined }): Promise<SecretValue>;
  /** Metadata only; `prefix` is `project`, `meta`, `project/P` or `meta/S`. */
  list(options: { prefix: string; env: string }): Promise<SecretInfo[]>;
  /** One secret's metadata (deleted ones included). */
  info(path: string, env: string): Promise<SecretInfo>;
  /** Decrypts and authenticates every version of one secret in one environment. */
  verify(path: string, env: string): Promise<VerifyReport>;
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
          info: (path, env) => v.info(path, env),
          verify: (path, env) => v.verify(path, env),
        };
        byActor.set(actor, bound);
      }
      return bound;
    },
    close,
  };
}
