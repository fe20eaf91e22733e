/**
 * `coffer rotation status`: which secrets are overdue, due soon, never rotated, in a grace
 * window or compromised, with the age of the current version, its policy and who made it.
 * One rule for every front end (CLI, MCP `rotation_status`, HTTP `GET /v1/rotation`); the
 * clock is injected, so tests move time instead of waiting for it.
 *
 * A secret's state, first match wins:
 *   compromised   marked by `coffer incident` and not rotated since
 *   grace-ended   rotated with a grace window that has ended: `coffer rotate --finish`
 *   in-grace      rotated, the previous version still injected under its `previous:` name
 *   overdue       a period policy (90d, 1y) and the current version is older than it
 *   due-soon      a period policy due within the window (`--due-within`, default 30d)
 *   no-policy     no rotation policy: nothing can be due
 *   ok            anything else (on-compromise and never included)
 * "Never rotated" is reported beside the state: the current version is the first one.
 */
import type { SecretRecord, SecretWithCurrent } from '../store/storage.js';
import type { Vault } from '../store/vault.js';
import { DAY_MS } from './duration.js';
import { type RotationPolicy, readRotationPolicy } from './policy.js';
import { readRotationDoc, type SecretRotation, slotKey } from './state.js';

export type RotationState =
  | 'compromised'
  | 'grace-ended'
  | 'in-grace'
  | 'overdue'
  | 'due-soon'
  | 'no-policy'
  | 'ok';

/** States in the order they are listed (most urgent first). */
export const ROTATION_STATES: readonly RotationState[] = [
  'compromised',
  'grace-ended',
  'in-grace',
  'overdue',
  'due-soon',
  'no-policy',
  'ok',
];

export interface RotationStatusItem {
  path: string;
  env: string;
  state: RotationState;
  policy: string | null;
  version: number;
  /** When the current version was stored. */
  versionCreatedAt: string;
  /** Whole days since then. */
  ageDays: number;
  /** When a period policy makes it due; null for other policies. */
  dueAt: string | null;
  /** Whole days until `dueAt`; negative (or 0 once due): whole days overdue. */
  daysLeft: number | null;
  /** True while the current version is the first one. */
  neverRotated: boolean;
  /** Who stored the current version (null when never rotated). */
  rotatedBy: string | null;
  graceUntil: string | null;
  previousVersion: number | null;
  compromisedAt: string | null;
  /** What to do next, when something is. */
  action: string | null;
}

export interface RotationStatusOptions {
  /** `project`, `meta`, `project/P` or `meta/S` (default: every secret). */
  prefix?: { scope: string; group?: string | undefined } | undefined;
  env?: string | undefined;
  /** Period-policy secrets due within this many milliseconds are `due-soon` (default 30 days). */
  dueWithinMs?: number | undefined;
  /** The clock (tests). */
  now?: Date | undefined;
  /** Which secrets the caller may see (a token's or MCP server's globs and environments). */
  allows?: ((path: string, env: string) => boolean) | undefined;
}

export interface RotationStatusReport {
  now: string;
  dueWithinDays: number;
  items: RotationStatusItem[];
  counts: Record<RotationState, number>;
  neverRotated: number;
  /** Items that fail `--fail-on-overdue`: overdue or compromised. */
  overdue: number;
}

export const DEFAULT_DUE_WITHIN_MS: number = 30 * DAY_MS;

/** The state of one secret at `now` (pure: the core of the report, tested on its own). */
/**
 * When the current version was stored, as far as the vault vouches for it. A version row's
 * created_at and actor are not authenticated (only its bytes are, by their associated data),
 * so its time is kept between the secret row's created_at and updated_at, which the row MAC
 * covers: storing a version sets updated_at to the same time, so an honest time is never
 * moved, and a forged one cannot postpone a rotation past the row's last change. Version 1
 * was stored with the row; a missing version row gives updated_at. The actor is shown, never
 * used to decide.
 */
export function currentVersionTime(
  secret: Pick<SecretRecord, 'currentVersion' | 'createdAt' | 'updatedAt'>,
  version: { createdAt: string; actor: string } | undefined,
): { createdAt: string; actor: string } {
  if (secret.currentVersion === 1) return { createdAt: secret.createdAt, actor: '' };
  if (version === undefined) return { createdAt: secret.updatedAt, actor: 'unknown' };
  const t = Date.parse(version.createdAt);
  const lo = Date.parse(secret.createdAt);
  const hi = Date.parse(secret.updatedAt);
  const createdAt =
    Number.isNaN(t) || t > hi ? secret.updatedAt : t < lo ? secret.createdAt : version.createdAt;
  return { createdAt, actor: version.actor };
}

export function classifySecret(
  secret: Pick<SecretRecord, 'path' | 'env' | 'rotation' | 'currentVersion'>,
  current: { createdAt: string; actor: string },
  state: SecretRotation | undefined,
  now: Date,
  dueWithinMs: number = DEFAULT_DUE_WITHIN_MS,
  /** The parsed policy, when the caller already has it (a report parses each text once). */
  parsed?: RotationPolicy,
): RotationStatusItem {
  const t = now.getTime();
  const created = Date.parse(current.createdAt);
  const policy =
    parsed ?? (secret.rotation === null ? undefined : readRotationPolicy(secret.rotation));
  let dueAt: number | null = null;
  if (policy?.kind === 'period') dueAt = created + policy.days * DAY_MS;
  const graceUntil = state?.graceUntil ?? null;
  const compromisedAt = state?.compromisedAt ?? null;
  const rotate = `coffer rotate ${secret.path} --env ${secret.env}`;
  let s: RotationState;
  let action: string | null = null;
  if (compromisedAt !== null) {
    s = 'compromised';
    action = `${rotate} --grace 0`;
  } else if (graceUntil !== null && Date.parse(graceUntil) <= t) {
    s = 'grace-ended';
    action = `coffer rotate --finish ${secret.path} --env ${secret.env}`;
  } else if (graceUntil !== null) {
    s = 'in-grace';
  } else if (dueAt !== null && dueAt <= t) {
    s = 'overdue';
    action = rotate;
  } else if (dueAt !== null && dueAt - t <= dueWithinMs) {
    s = 'due-soon';
    action = rotate;
  } else if (secret.rotation === null) {
    s = 'no-policy';
    action = `coffer describe ${secret.path} --env ${secret.env} --rotation 90d`;
  } else {
    s = 'ok';
  }
  // One object per secret (a report makes thousands).
  return {
    path: secret.path,
    env: secret.env,
    state: s,
    policy: secret.rotation,
    version: secret.currentVersion,
    versionCreatedAt: current.createdAt,
    ageDays: Math.max(0, Math.floor((t - created) / DAY_MS)),
    dueAt: dueAt === null ? null : new Date(dueAt).toISOString(),
    daysLeft:
      dueAt === null
        ? null
        : dueAt >= t
          ? Math.floor((dueAt - t) / DAY_MS)
          : -Math.floor((t - dueAt) / DAY_MS),
    neverRotated: secret.currentVersion === 1,
    rotatedBy: secret.currentVersion === 1 ? null : current.actor,
    graceUntil,
    previousVersion: graceUntil === null ? null : (state?.previousVersion ?? null),
    compromisedAt,
    action,
  };
}

function emptyCounts(): Record<RotationState, number> {
  return Object.fromEntries(ROTATION_STATES.map((s) => [s, 0])) as Record<RotationState, number>;
}

/** The report over `secrets` (already filtered, each with its current version's stamp). */
function report(
  secrets: readonly SecretWithCurrent[],
  rotation: Record<string, SecretRotation>,
  now: Date,
  dueWithinMs: number,
): RotationStatusReport {
  const items: RotationStatusItem[] = [];
  const policies = new Map<string, RotationPolicy | undefined>();
  for (const { secret: s, currentCreatedAt, currentActor } of secrets) {
    const current = currentVersionTime(
      s,
      currentCreatedAt === null
        ? undefined
        : { createdAt: currentCreatedAt, actor: currentActor ?? 'unknown' },
    );
    let policy = policies.get(s.rotation ?? '');
    if (policy === undefined && s.rotation !== null && !policies.has(s.rotation)) {
      policy = readRotationPolicy(s.rotation);
      policies.set(s.rotation, policy);
    }
    items.push(
      classifySecret(s, current, rotation[slotKey(s.path, s.env)], now, dueWithinMs, policy),
    );
  }
  // The query returns path, env order: grouping by state keeps it within each state.
  const byState = new Map<RotationState, RotationStatusItem[]>(
    ROTATION_STATES.map((st) => [st, []]),
  );
  for (const i of items) byState.get(i.state)!.push(i);
  const ordered = ROTATION_STATES.flatMap((st) => byState.get(st)!);
  const counts = emptyCounts();
  let neverRotated = 0;
  for (const i of ordered) {
    counts[i.state]++;
    if (i.neverRotated) neverRotated++;
  }
  return {
    now: now.toISOString(),
    dueWithinDays: Math.round(dueWithinMs / DAY_MS),
    items: ordered,
    counts,
    neverRotated,
    overdue: counts.overdue + counts.compromised,
  };
}

/**
 * The rotation status of the live secrets under `prefix` in `env` (both optional), as the
 * vault's actor sees them; audited as one `rotation_status` record (names only).
 */
export function rotationStatus(
  vault: Vault,
  options: RotationStatusOptions = {},
): Promise<RotationStatusReport> {
  const now = options.now ?? new Date();
  const dueWithinMs = options.dueWithinMs ?? DEFAULT_DUE_WITHIN_MS;
  const allows = options.allows ?? (() => true);
  return vault.auditedTransaction('rotation_status', async (tx, keyring) => {
    // One query for every secret and the stamp of its current version.
    const listed = await tx.listSecretsWithCurrent({
      ...(options.prefix !== undefined ? { scope: options.prefix.scope } : {}),
      ...(options.prefix?.group !== undefined ? { group: options.prefix.group } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
    });
    const secrets = listed.filter((r) => allows(r.secret.path, r.secret.env));
    const doc = await readRotationDoc(tx, keyring);
    const result = report(secrets, doc.secrets, now, dueWithinMs);
    return {
      result,
      detail: `${result.items.length} secrets, ${result.overdue} overdue`,
    };
  });
}
