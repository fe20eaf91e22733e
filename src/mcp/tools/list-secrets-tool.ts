/**
 * `list_secrets({ scope, project?, env? })`: metadata only, never values or previews. With
 * `project` it lists that project's (or, for scope `meta`, that service's) secrets; without
 * it, the projects or services that hold at least one secret this server may show.
 */
import * as z from 'zod';
import { envVarNameFor, parseKeyPath, parsePathPrefix } from '../../core/paths.js';
import {
  authorizeTool,
  type CofferTool,
  callEnv,
  defineTool,
  envField,
  READ_ONLY,
} from './tool.js';

const secretItem = z.object({
  keyPath: z.string(),
  name: z.string(),
  envVar: z.string().describe('The variable name write_env uses'),
  description: z.string(),
  version: z.number().int(),
  updatedAt: z.string(),
  generator: z
    .string()
    .nullable()
    .describe('How generate_secret made it (e.g. base64:32), or null'),
});

export const listSecretsTool: CofferTool = defineTool({
  name: 'list_secrets',
  title: 'List secrets',
  description:
    "List secrets' metadata (key path, description, version, variable name), never their values. " +
    'With project: the secrets of that project (scope project) or service (scope meta). Without project: the projects or services you may see, with counts.',
  input: z.object({
    scope: z
      .enum(['project', 'meta'])
      .describe('project: per-project secrets; meta: system-wide ones'),
    project: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe('Project name (scope project) or service name (scope meta), e.g. consilio'),
    env: envField,
  }),
  output: z.object({
    scope: z.enum(['project', 'meta']),
    env: z.string(),
    project: z.string().optional(),
    secrets: z.array(secretItem).optional().describe('Present when project was given'),
    projects: z
      .array(z.object({ name: z.string(), secrets: z.number().int() }))
      .optional()
      .describe('Present when project was not given'),
  }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    const env = callEnv(
      ctx,
      args.env,
      args.scope === 'project' && args.project !== undefined ? args.project : undefined,
    );
    if (args.project === undefined) {
      await authorizeTool(ctx, 'list', 'list', { env });
      const items = await ctx.vault.list({ prefix: args.scope, env });
      const counts = new Map<string, number>();
      for (const s of items) {
        if (!ctx.policy.allowsPath(s.path)) continue;
        const group = parseKeyPath(s.path).group;
        counts.set(group, (counts.get(group) ?? 0) + 1);
      }
      const projects = [...counts].map(([name, secrets]) => ({ name, secrets }));
      return { scope: args.scope, env, projects };
    }
    const group = parsePathPrefix(`${args.scope}/${args.project}`).group!;
    const prefix = `${args.scope}/${group}`;
    await authorizeTool(ctx, 'list', 'list', { path: prefix, env, prefix: true });
    const items = await ctx.vault.list({ prefix, env });
    const secrets = items
      .filter((s) => ctx.policy.allowsPath(s.path))
      .map((s) => {
        const name = parseKeyPath(s.path).name;
        return {
          keyPath: s.path,
          name,
          envVar: s.envVar ?? envVarNameFor(name),
          description: s.description,
          version: s.currentVersion,
          updatedAt: s.updatedAt,
          generator: s.generator,
        };
      });
    return { scope: args.scope, env, project: group, secrets };
  },
});
