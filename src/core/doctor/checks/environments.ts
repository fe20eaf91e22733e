/**
 * Environments: production shares no value with another environment (compared by digest in
 * core/environments, names only), every required manifest variable is stored in each
 * environment (core/manifest's check), and no two environment names look like typos of
 * each other.
 */
import { compareEnvironments } from '../../environments/compare.js';
import { checkManifest } from '../../manifest/check.js';
import { editDistance } from '../../suggest.js';
import type { DoctorContext } from '../context.js';
import type { Check, Evidence, Fix } from '../types.js';

export const PRODUCTION = /^(?:prod|production|prd|live)$/;

/** The environments the project's secrets live in (all of them, whatever --env says). */
async function projectEnvs(ctx: DoctorContext, project: string): Promise<string[] | undefined> {
  const vault = await ctx.vault();
  if (vault === undefined) return undefined;
  const all = await vault.list({ prefix: `project/${project}` });
  return [...new Set(all.filter((s) => s.deletedAt === null).map((s) => s.env))].sort();
}

const shared: Check = {
  id: 'environments/shared-values',
  category: 'environments',
  severity: 'error',
  title: 'production uses different secrets than development',
  why: 'The seed gives each environment its own secrets, so a leaked development value never opens production.',
  async run(ctx) {
    const vault = await ctx.vault();
    const project = ctx.project();
    if (vault === undefined) return { evidence: [], skipped: 'no vault' };
    const manifestUnread = ctx.manifestUnread();
    const unread = manifestUnread === undefined ? [] : [manifestUnread];
    if (project === undefined) {
      if (manifestUnread !== undefined) return { evidence: [], unread };
      return { evidence: [], skipped: 'no project (--project P or coffer.yaml)' };
    }
    const envs = (await projectEnvs(ctx, project)) ?? [];
    const chosen = (e: string) => ctx.envs.length === 0 || ctx.envs.includes(e);
    const prods = envs.filter((e) => PRODUCTION.test(e));
    if (prods.length === 0)
      return { evidence: [], skipped: `no production environment in ${project}` };
    const plain = new Set(
      (ctx.manifest()?.variables ?? []).filter((v) => !v.sensitive).map((v) => v.path),
    );
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (const prod of prods) {
      for (const other of envs) {
        if (other === prod || PRODUCTION.test(other) || !(chosen(prod) || chosen(other))) continue;
        const c = await compareEnvironments(vault, project, prod, other);
        for (const name of c.sameValue) {
          const keyPath = `project/${project}/${name}`;
          if (plain.has(keyPath)) continue;
          evidence.push({
            keyPath,
            env: prod,
            message: `${keyPath} has the same value in ${prod} and ${other}`,
          });
          fixes.push({
            description: `give ${prod} its own value of ${name}`,
            command: `coffer rotate ${keyPath} --env ${prod}`,
          });
        }
      }
    }
    // Its plain settings (sensitive: false), which may be equal, are unknown: reported above.
    return { evidence, fixes, unread };
  },
};

const missing: Check = {
  id: 'environments/missing-required',
  category: 'environments',
  severity: 'error',
  title: 'every required manifest variable is stored in each environment',
  why: 'A required variable missing in an environment fails at deploy time, or tempts someone to copy a value from another environment.',
  async run(ctx) {
    const manifest = ctx.manifest();
    const manifestUnread = ctx.manifestUnread();
    if (manifestUnread !== undefined) return { evidence: [], unread: [manifestUnread] };
    if (manifest === undefined) return { evidence: [], skipped: 'no coffer.yaml' };
    const vault = await ctx.vault();
    if (vault === undefined) return { evidence: [], skipped: 'no vault' };
    const secrets = await vault.list({ prefix: `project/${manifest.project}` });
    const stored = [...new Set(secrets.map((s) => s.env))];
    const envs =
      ctx.envs.length > 0
        ? ctx.envs
        : manifest.environments.length > 0
          ? manifest.environments
          : stored;
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (const env of [...envs].sort()) {
      const check = checkManifest(manifest, env, secrets);
      for (const m of check.missing) {
        evidence.push({
          keyPath: m.path,
          env,
          message: `${m.name} (${m.path}) is missing in ${env}`,
        });
      }
      if (check.missing.length > 0)
        fixes.push({
          description: `store what ${env} lacks`,
          command: `coffer setup --env ${env}`,
        });
    }
    return { evidence, fixes };
  },
};

/** Names that mean the same environment. */
const SAME = [
  ['prod', 'production', 'prd', 'live'],
  ['dev', 'development', 'devel', 'local'],
  ['stage', 'staging', 'stg', 'preprod'],
  ['test', 'testing', 'qa'],
];

function lookAlike(a: string, b: string): boolean {
  if (SAME.some((g) => g.includes(a) && g.includes(b))) return true;
  const limit = Math.min(a.length, b.length) <= 4 ? 1 : 2;
  return editDistance(a, b) <= limit;
}

const typos: Check = {
  id: 'environments/name-typos',
  category: 'environments',
  severity: 'warning',
  title: 'no two environment names look like typos of each other',
  why: 'Secrets split between prod and production leave one of them incomplete, and a deploy reads the wrong one.',
  async run(ctx) {
    const names = new Set<string>(ctx.manifest()?.environments ?? []);
    const vault = await ctx.vault();
    if (vault !== undefined)
      for (const s of await vault.list({})) if (s.deletedAt === null) names.add(s.env);
    const list = [...names].sort();
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (!lookAlike(a, b)) continue;
        evidence.push({ env: b, message: `environments ${a} and ${b} look like the same one` });
        fixes.push({
          description: `see what differs, then keep one name`,
          command: `coffer env compare ${a} ${b}`,
        });
      }
    }
    const manifestUnread = ctx.manifestUnread();
    return { evidence, fixes, unread: manifestUnread === undefined ? [] : [manifestUnread] };
  },
};

export const ENVIRONMENT_CHECKS: readonly Check[] = [shared, missing, typos];
