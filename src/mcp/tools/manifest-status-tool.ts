/**
 * `manifest_status({ env? })`: the project manifest (coffer.yaml, nearest to the server's
 * working directory) against the vault: each variable's name, tier, description, source
 * kind and whether it is stored, plus the project's secrets the manifest does not name.
 * Names and metadata only: no value, and no plain setting's value either (an agent reads
 * the schema, never the secrets).
 */
import * as z from 'zod';
import { checkManifest, manifestSecrets } from '../../core/manifest/check.js';
import { loadNearestManifest } from '../../core/manifest/load.js';
import { sourceFor } from '../../core/manifest/model.js';
import { manifestEnvironment } from '../../core/manifest/setup-plan.js';
import {
  authorizeTool,
  type CofferTool,
  callEnv,
  defineTool,
  envField,
  READ_ONLY,
} from './tool.js';

const variableItem = z.object({
  name: z.string().describe('The environment-variable name'),
  keyPath: z.string(),
  description: z.string(),
  tier: z.number().int().nullable(),
  sensitive: z.boolean(),
  required: z.boolean(),
  source: z
    .enum(['ask', 'generate', 'env', 'value'])
    .describe('Where setup takes the value from in this environment'),
  status: z
    .enum(['stored', 'missing', 'optional-missing', 'plain'])
    .describe('plain: a non-secret setting written by setup from the manifest'),
});

export const manifestStatusTool: CofferTool = defineTool({
  name: 'manifest_status',
  title: 'Manifest status',
  description:
    "The project's manifest (coffer.yaml) against the vault: every variable with its tier, description, source and whether it is stored, and the project's secrets the manifest does not name. Never values.",
  input: z.object({ env: envField }),
  output: z.object({
    project: z.string(),
    env: z.string(),
    manifest: z.string().describe('The manifest file, relative to the working directory'),
    variables: z.array(variableItem),
    missing: z.array(z.string()).describe('Required variables not stored yet'),
    unmanaged: z.array(z.string()).describe('Key paths of secrets the manifest does not name'),
  }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    const manifest = loadNearestManifest(ctx.cwd);
    // The one environment rule of setup and manifest check: an environment the manifest
    // does not list is refused with a suggestion.
    const env = manifestEnvironment(manifest, callEnv(ctx, args.env, manifest.project));
    const prefix = `project/${manifest.project}`;
    await authorizeTool(ctx, 'list', 'manifest_status', { path: prefix, env, prefix: true });
    const stored = (
      await manifestSecrets(manifest, env, ctx.vault, (p) => ctx.policy.allowsPath(p))
    ).filter((s) => ctx.policy.allowsPath(s.path));
    const check = checkManifest(manifest, env, stored);
    const missing = new Set(check.missing.map((m) => m.name));
    const optionalMissing = new Set(check.optionalMissing.map((m) => m.name));
    const plain = new Set(check.plain);
    const rel = manifest.file.startsWith(`${ctx.cwd}/`)
      ? manifest.file.slice(ctx.cwd.length + 1)
      : manifest.file;
    return {
      project: manifest.project,
      env,
      manifest: rel,
      variables: manifest.variables.map((v) => ({
        name: v.name,
        keyPath: v.path,
        description: v.description,
        tier: v.tier,
        sensitive: v.sensitive,
        required: v.required,
        source: sourceFor(v, env).kind,
        status: plain.has(v.name)
          ? ('plain' as const)
          : missing.has(v.name)
            ? ('missing' as const)
            : optionalMissing.has(v.name)
              ? ('optional-missing' as const)
              : ('stored' as const),
      })),
      missing: check.missing.map((m) => m.name),
      unmanaged: check.unmanaged,
    };
  },
});
