/**
 * `.env.example` from the manifest: one line per variable with a placeholder that says what
 * goes there (never a value), plain configuration (`sensitive: false`) with its manifest
 * value kept, the description as a comment, grouped under the variable's `group` (as seed
 * documents lay the file out: "API Keys", "Database") or, without one, by tier.
 */
import { formatDotenvValue } from '../dotenv/format.js';
import { type Manifest, type ManifestVariable, type Source, sourceFor } from './model.js';

const TIER_TITLES: Record<1 | 2 | 3, string> = {
  1: 'Tier 1: infrastructure core',
  2: 'Tier 2: third-party services',
  3: 'Tier 3: data-encryption keys',
};

/** The placeholder for a sensitive variable whose source in `env` is `source`. */
function placeholder(v: ManifestVariable, source: Source): string {
  switch (source.kind) {
    case 'generate':
      return `generate-${source.spec.replace(/:/g, '-')}`;
    case 'env':
      return `set-from-${source.variable}`;
    default:
      return `your-${v.name.toLowerCase().replace(/_/g, '-')}`;
  }
}

function groupOf(v: ManifestVariable): string {
  if (v.group !== null) return v.group;
  return v.tier === null ? 'Other' : TIER_TITLES[v.tier];
}

/**
 * The `.env.example` text for `manifest`, with the sources of environment `env` (the
 * manifest's default environment, else `dev`).
 */
export function manifestEnvExample(manifest: Manifest, env?: string): string {
  const e = env ?? manifest.env ?? 'dev';
  const groups = new Map<string, ManifestVariable[]>();
  for (const v of manifest.variables) {
    const g = groupOf(v);
    groups.set(g, [...(groups.get(g) ?? []), v]);
  }
  const lines = [
    `# ${manifest.project}: the variables of ${manifest.file.split(/[\\/]/).pop()}, as placeholders (no secret values).`,
    '# Fill a copy named .env, or run `coffer setup --env dev --write-env`.',
  ];
  for (const [title, vars] of groups) {
    lines.push('', `# ${title}`);
    for (const v of vars) {
      const source = sourceFor(v, e);
      const optional = v.required ? '' : ' (optional)';
      lines.push(`# ${v.description}${optional}`);
      const value = !v.sensitive && source.kind === 'value' ? source.value : placeholder(v, source);
      lines.push(`${v.name}=${formatDotenvValue(v.name, value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
