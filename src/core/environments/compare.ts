/**
 * `coffer env compare A B`: how two environments of a project differ, by name only. Seed 004
 * asks that "production uses different secrets than development"; this finds the names
 * missing on either side and the secrets whose values are equal in both, without printing
 * either value. Both sides are read through the vault (one audited read per secret), and
 * values are compared by their SHA-256 digests in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { CofferError } from '../errors.js';
import type { ProjectSecret } from '../store/vault.js';

/** What comparing needs from a vault: `Vault.readProject`. */
export interface ProjectReader {
  readProject(project: string, env: string, purpose: string): Promise<ProjectSecret[]>;
}

export interface EnvironmentComparison {
  project: string;
  envs: [string, string];
  /** Secret names only in the first environment, sorted. */
  onlyInFirst: string[];
  /** Secret names only in the second environment, sorted. */
  onlyInSecond: string[];
  /** Names whose values are equal in both environments, sorted. */
  sameValue: string[];
  /** Names in both with different values, sorted. */
  different: string[];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export async function compareEnvironments(
  reader: ProjectReader,
  project: string,
  first: string,
  second: string,
): Promise<EnvironmentComparison> {
  if (first === second) {
    throw new CofferError('INVALID_ARGUMENT', 'compare two different environments');
  }
  const purpose = `env compare ${first} ${second}`;
  const a = await reader.readProject(project, first, purpose);
  const b = await reader.readProject(project, second, purpose);
  const byName = (list: ProjectSecret[]) => new Map(list.map((s) => [s.name, digest(s.value)]));
  const left = byName(a);
  const right = byName(b);
  const out: EnvironmentComparison = {
    project,
    envs: [first, second],
    onlyInFirst: [],
    onlyInSecond: [],
    sameValue: [],
    different: [],
  };
  for (const [name, d] of left) {
    const other = right.get(name);
    if (other === undefined) out.onlyInFirst.push(name);
    else if (timingSafeEqual(d, other)) out.sameValue.push(name);
    else out.different.push(name);
  }
  for (const name of right.keys()) if (!left.has(name)) out.onlyInSecond.push(name);
  for (const list of [out.onlyInFirst, out.onlyInSecond, out.sameValue, out.different]) list.sort();
  return out;
}
