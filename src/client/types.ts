/**
 * The types of `coffer/client`: options, and the answers of each route of docs/http-api.md.
 * Secrets, versions, verify reports and audit records use the core's own types, so a
 * program can handle a local Vault's results and the client's alike.
 */
import type { TokenRequest as CoreTokenRequest } from '../core/access/tokens.js';
import type { AcknowledgedBreak } from '../core/audit/acknowledge-record.js';
import type { ShownAuditRecord, TokenCapability } from '../core/store/storage.js';
import type { VersionInfo } from '../core/store/vault.js';
import type { FetchFunction } from './transport.js';

export type { CreatedToken, TokenInfo } from '../core/access/tokens.js';
export type { AcknowledgedBreak } from '../core/audit/acknowledge-record.js';
export type { AuditRecord, ShownAuditRecord } from '../core/store/storage.js';
export type {
  ProjectSecret,
  SecretInfo,
  SecretValue,
  SetResult,
  VerifyReport,
  VersionInfo,
} from '../core/store/vault.js';
export type { FetchFunction } from './transport.js';

export interface ClientOptions {
  /** The server's base URL, e.g. `https://coffer.example.com` (COFFER_URL for the CLI). */
  url: string;
  /** A token from `coffer token create` (COFFER_TOKEN). Sent only as a bearer header. */
  token: string;
  /** A fetch implementation (default: the global fetch of Node >= 20). */
  fetch?: FetchFunction | undefined;
  /** Give up on a request after this many milliseconds (default 30 000). */
  timeoutMs?: number | undefined;
  /**
   * Allow plain `http://` to a host other than loopback. Off by default: the token would
   * cross the network in clear text.
   */
  insecureHttp?: boolean | undefined;
  /**
   * An agent label sent in the `X-Coffer-Agent` header (`mcp:NAME/VERSION [agent:ID]`,
   * core/access/agent-label.ts): the server records it after the token's name in the audit
   * log. A label only; it grants nothing.
   */
  agent?: string | undefined;
}

export interface EnvOption {
  /** The environment (the server's default is `dev`). */
  env?: string | undefined;
}

export interface GetOptions extends EnvOption {
  version?: number | undefined;
}

export interface SetOptions extends EnvOption {
  /** Required when the secret is created. */
  description?: string | undefined;
  /** Check-and-set: VERSION_CONFLICT unless the current version is this (0 = must not exist). */
  ifVersion?: number | undefined;
  /** Store an empty value on purpose (the server refuses one with EMPTY_VALUE otherwise). */
  allowEmpty?: boolean | undefined;
  /** Metadata stored with this version (tier, rotation policy, env-var name, ...). */
  metadata?: SetMetadata | undefined;
}

/** What `checkSetSecret` sends: a set's options without its value (and without metadata). */
export interface CheckSetOptions extends EnvOption {
  /** Required when the secret is created. */
  description?: string | undefined;
  /** VERSION_CONFLICT unless the current version is this (0 = must not exist). */
  ifVersion?: number | undefined;
}

/** A set the stored secret would accept (`POST /v1/secrets/{path}/check-set`). */
export interface SetChecked {
  path: string;
  env: string;
  checked: true;
}

/** Metadata written with a new version; a field left out keeps the secret's current one. */
export interface SetMetadata {
  tier?: number | null | undefined;
  rotation?: string | null | undefined;
  envVar?: string | null | undefined;
  localOnly?: boolean | undefined;
  generator?: string | null | undefined;
}

export interface ListOptions extends EnvOption {
  /** `project`, `meta`, `project/P` or `meta/S`. */
  prefix?: string | undefined;
  includeDeleted?: boolean | undefined;
}

export interface AuditOptions {
  afterSeq?: number | undefined;
  limit?: number | undefined;
  path?: string | undefined;
}

/** One answer of `GET /v1/audit`. */
export interface AuditPage {
  /** Records within the token's policy, oldest first: fewer than asked, even none, is not the end. */
  items: ShownAuditRecord[];
  /** The `afterSeq` to ask for next, or null: the log ended within this page. */
  nextAfterSeq: number | null;
}

export interface History {
  path: string;
  env: string;
  versions: VersionInfo[];
}

export interface DeleteResult {
  path: string;
  env: string;
  deleted: true;
}

export interface RestoreResult {
  path: string;
  env: string;
  restored: true;
}

export interface AuditVerifyAnswer {
  ok: boolean;
  checked: number;
  /** The first record that does not fit the chain, when `ok` is false. */
  firstBroken?: { seq: number; reason: string };
  /** The stored head: MAC valid, written before heads had one, or broken (newer servers). */
  head?: 'authenticated' | 'legacy' | 'broken';
  /** Breaks an operator acknowledged (`coffer audit acknowledge`), oldest first. */
  acknowledged?: AcknowledgedBreak[];
}

/** A token's capability (`admin`: manage tokens and read the audit log, within its policy). */
export type Capability = TokenCapability;

/**
 * A token to create (core/access/tokens.ts): path globs such as `project/app/*`,
 * environments (empty or missing = any), capabilities, a time to live such as `30d`
 * (missing = no expiry). An admin token creates only tokens within its own policy.
 */
export interface TokenRequest extends Omit<CoreTokenRequest, 'caps'> {
  caps: Capability[];
}

/** `POST /v1/incidents/...`: the incident opened (or already open) on a leaked secret. */
export interface LeakOpened {
  incident: string;
  path: string;
  env: string;
  resumed: boolean;
}

export interface RotationStatusOptions {
  /** `project`, `meta`, `project/P` or `meta/S`. */
  prefix?: string | undefined;
  env?: string | undefined;
  /** What counts as due soon, e.g. `14d` (default 30d). */
  dueWithin?: string | undefined;
}

/** One secret a client wrote into a file (`POST /v1/file-writes`): names, never values. */
export interface FileWriteEntry {
  path: string;
  env: string;
  version: number | null;
  /** The variable it was written under (a .env file)... */
  name?: string | undefined;
  /** ...or the reference whose value it was written as (a template), `coffer://PATH?env=ENV`. */
  reference?: string | undefined;
}
