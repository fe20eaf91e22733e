/**
 * The one interface every front end uses for secrets: `SecretsService`. It has two
 * implementations, and a front end picks one; it never has a second code path per command:
 *
 * - the local vault bound to an actor (and, optionally, an access policy):
 *   `vault.as(actor, policy)` or `localSecretsService` (local-service.ts);
 * - a `coffer serve` server through `coffer/client` (remote mode: `clientSecretsService`
 *   in src/client/service.ts), where the server audits as the token's name and applies
 *   the token's policy.
 *
 * The CLI's secret commands and every MCP tool call only these methods, so their output,
 * refusals and exit codes are the same in both modes. The HTTP API serves the same
 * operations (its secret routes call a local service bound to the request's token).
 *
 * What the HTTP API cannot do is refused in remote mode before any request, with
 * `notInRemoteMode` (USAGE): listing every environment at once, `verify` of the whole vault.
 */
import type { Target } from '../access/policy.js';
import type { AuditVerifyResult } from '../audit/log.js';
import { CofferError } from '../errors.js';
import type { GraceValue } from '../rotation/grace.js';
import type { WrittenSecret } from '../rotation/places.js';
import type { RotationStatusOptions, RotationStatusReport } from '../rotation/status.js';
import type { ShownAuditRecord } from '../store/storage.js';
import type {
  ProjectSecret,
  ReadOutcome,
  ReadRequest,
  SecretInfo,
  SecretValue,
  SetOptions,
  SetResult,
  VerifyReport,
  VersionInfo,
} from '../store/vault-types.js';

/** Whether a key path in an environment is within bounds (a policy's paths and environments). */
export type PathFilter = (path: string, env: string) => boolean;

export interface ListQuery {
  /** `project`, `meta`, `project/P` or `meta/S`; undefined: everything. */
  prefix?: string | undefined;
  /** undefined: every environment (the local vault only). */
  env?: string | undefined;
  includeDeleted?: boolean;
  /** Bounds the listing (a policy's paths and environments); the local vault's count too. */
  within?: PathFilter | undefined;
}

export interface AuditQuery {
  /** The newest `limit` records (default 100), oldest first. */
  limit?: number | undefined;
  path?: string | undefined;
}

/** The operations on secrets, on behalf of one actor. */
export interface SecretsService {
  /** True when the operations go to a server (COFFER_URL). */
  readonly remote: boolean;
  /** The latest (or a given) version of a secret. */
  get(path: string, env: string, options?: { version?: number | undefined }): Promise<SecretValue>;
  /** Several reads, each with its own outcome (a missing one fails alone). */
  getMany(requests: readonly ReadRequest[]): Promise<ReadOutcome[]>;
  /** A new version, with its metadata (creating the secret needs a description). */
  set(path: string, env: string, value: string, options?: SetOptions): Promise<SetResult>;
  /**
   * Refuses a `set` that would be refused whatever its value (a new secret without a
   * description, a check-and-set version that is not the current one), for a front end that
   * asks for the value only after this. In remote mode the server checks it, as it would the
   * set (POST /v1/secrets/{path}/check-set); a server older than that check lets it pass.
   */
  checkSet?(
    path: string,
    env: string,
    options?: Pick<SetOptions, 'description' | 'ifVersion'>,
  ): Promise<void>;
  /** Metadata only, never values. */
  list(options?: ListQuery): Promise<SecretInfo[]>;
  /** One secret's metadata, deleted or not. */
  info(path: string, env: string): Promise<SecretInfo>;
  /** The versions of a secret, oldest first, without values. */
  history(path: string, env: string): Promise<{ secret: SecretInfo; versions: VersionInfo[] }>;
  /**
   * Every live secret of a project with its value; `purpose` goes into a local audit log.
   * `within` bounds what is read (a policy's paths and environments): the local vault opens
   * and audits only those; a server reads what its token allows and the rest is dropped.
   */
  readProject(
    project: string,
    env: string,
    purpose: string,
    within?: PathFilter,
  ): Promise<ProjectSecret[]>;
  /**
   * The previous values a rotation's grace window keeps injected under their `previous:`
   * names (the local vault only; a server does not offer them yet, and leaves this out).
   */
  graceValues?(project: string, env: string, within?: PathFilter): Promise<GraceValue[]>;
  /**
   * The `previous:` names whose grace window is over (grace.ts: endedPreviousNames), which the
   * .env writers remove from a file (the local vault only).
   */
  endedPreviousNames?(project: string, env: string, within?: PathFilter): Promise<string[]>;
  /**
   * Audits what a file write carried: one `file_write` record per secret (file path, variable
   * name; never a value), so rotate and incident can list stale places; returns how many
   * were recorded. In remote mode the server records them, as the token.
   */
  recordFileWrite?(file: string, secrets: readonly WrittenSecret[], via: string): Promise<number>;
  /** Opens (or resumes) an incident on a leaked secret (core/incident), locally or on the server. */
  reportLeak?(path: string, env: string, where: string): Promise<{ id: string; resumed: boolean }>;
  /** `path` undefined: the whole vault (local only); `env` undefined: every environment. */
  verify(path?: string, env?: string): Promise<VerifyReport>;
  /** The newest `limit` audit records (default 100), oldest first. */
  audit(options?: AuditQuery): Promise<ShownAuditRecord[]>;
  auditVerify(): Promise<AuditVerifyResult>;
  /**
   * The rotation status (names, dates, policies; never a value), audited as one
   * `rotation_status` record (in remote mode, on the server as the token).
   */
  rotationStatus(options?: RotationStatusOptions): Promise<RotationStatusReport>;
  /**
   * Audits a call the front end's own policy refused before it reached this service
   * (outcome `denied`, detail = the reason). A server takes no audit records from its
   * clients: in remote mode this writes nothing (the front end logs the refusal).
   */
  denied(action: string, target: Target, reason: string): Promise<void>;
  close(): Promise<void>;
}

/** The error for what cannot be done through the server (remote mode). */
export function notInRemoteMode(what: string): CofferError {
  return new CofferError('USAGE', `${what} is not available in remote mode (COFFER_URL is set)`, {
    hint: 'Run it where the vault is, or unset COFFER_URL to use the local vault.',
  });
}
