/**
 * A project's variables as `coffer run` and `coffer env pull` give them to a program: its
 * secrets, then, during a rotation's grace window, each previous value under its `previous:`
 * name, unless a secret of the project already has that name (core/rotation/grace.ts). One
 * rule for both, through any SecretsService (a server leaves grace values out).
 */
import type { SecretsService } from './secrets-service.js';

export interface ProjectVariable {
  path: string;
  envVar: string;
  value: string;
}

export async function projectVariables(
  service: Pick<SecretsService, 'readProject' | 'graceValues'>,
  project: string,
  env: string,
  purpose: string,
): Promise<ProjectVariable[]> {
  const read: ProjectVariable[] = await service.readProject(project, env, purpose);
  const grace = (await service.graceValues?.(project, env)) ?? [];
  if (grace.length === 0) return read;
  const taken = new Set(read.map((s) => s.envVar));
  return [...read, ...grace.filter((x) => !taken.has(x.envVar))];
}
