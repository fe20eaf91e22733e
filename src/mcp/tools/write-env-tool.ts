/**
 * `write_env({ project, env?, file?, keyPaths? })`: the second step of the store-first workflow, done by the
 * server so the values never pass through the model. Reads the project's secrets from the
 * vault (store-first holds by construction: only stored secrets can be written) and sets
 * them in a dotenv file with the dotenv module (other lines kept; atomic, mode 0600).
 * Answers with variable names only: every variable it was asked for is written and listed,
 * whether or not the file held that value already, so the answer (and the file's mtime) never
 * tells an agent whether a value it put into the file equals the stored one.
 *
 * The file must be a dotenv file (`.env` or `.env.*`, the names `agent setup` keeps the agent
 * from reading) inside the server's working directory, reached without symbolic links, and
 * not a template meant to be committed (`.env.example`, `.sample`, `.template`, `.dist`); a
 * file git does not ignore gets a warning.
 */
import { existsSync } from 'node:fs';
import * as z from 'zod';
import type { Denier } from '../../core/access/policy.js';
import { authorizeAgentEnvFile, writeAgentEnvFile } from '../../core/agents/env-file.js';
import { CofferError } from '../../core/errors.js';
import { gitIgnoreWarning } from '../../core/git.js';
import { assertInjectableNamesAudited } from '../../core/inject/index.js';
import { parseKeyPath, parsePathPrefix, secretEnvVar } from '../../core/paths.js';
import { resolveDerived } from '../../core/references/resolve.js';
import { projectNotFound } from '../../core/store/project-lookup.js';
import { authorizeTool, type CofferTool, callEnv, defineTool, envField } from './tool.js';

export const writeEnvTool: CofferTool = defineTool({
  name: 'write_env',
  title: 'Write secrets into a .env file',
  description:
    "Write a project's stored secrets into a .env file inside the working directory, without the values passing through you. " +
    'Other lines and comments are kept; existing variables of these secrets are updated. Returns only the variable names. ' +
    'Store secrets first with set_secret or generate_secret.',
  input: z.object({
    project: z
      .string()
      .min(1)
      .max(100)
      .describe('The project whose secrets to write, e.g. consilio'),
    env: envField,
    file: z
      .string()
      .min(1)
      .max(400)
      .optional()
      .describe(
        'Dotenv file relative to the working directory: .env (the default) or .env.<suffix>, e.g. config/.env.local',
      ),
    keyPaths: z
      .array(z.string().min(1).max(400))
      .max(500)
      .optional()
      .describe(
        "Only these secrets: key paths of the project, or system-wide meta/{service}/{name} ones (default: all of the project's secrets)",
      ),
  }),
  output: z.object({
    file: z.string().describe('The file, relative to the working directory'),
    project: z.string(),
    env: z.string(),
    written: z.array(z.string()).describe('Variables written (set to the stored value)'),
    warnings: z.array(z.string()),
  }),
  annotations: {
    readOnlyHint: false,
    // Existing values of these variables in the file are replaced.
    destructiveHint: true,
    idempotentHint: true,
    openWorldHint: false,
  },
  async run(args, ctx) {
    const project = parsePathPrefix(`project/${args.project}`).group!;
    const env = callEnv(ctx, args.env, project);
    await authorizeTool(ctx, 'read', 'write_env', {
      path: `project/${project}`,
      env,
      prefix: true,
    });
    const deny: Denier = (a, t, r) => ctx.vault.denied(a, t, r);
    const fileTarget = { path: `project/${project}`, env, prefix: true };
    const { abs, rel } = await authorizeAgentEnvFile(
      deny,
      'write_env',
      fileTarget,
      ctx.cwd,
      args.file ?? '.env',
    );

    const listed = (await ctx.vault.list({ prefix: `project/${project}`, env })).filter((s) =>
      ctx.policy.allowsPath(s.path),
    );
    if (listed.length === 0 && args.keyPaths === undefined) {
      // Nothing to write is a mistyped project or environment, refused as `coffer env pull`
      // refuses it, naming only what this server's policy lets the agent see.
      // A server lists one environment at a time; the local vault lists them all.
      const all = await ctx.vault.list({
        prefix: 'project',
        env: ctx.vault.remote ? env : undefined,
      });
      throw projectNotFound(
        project,
        env,
        all.filter((s) => ctx.policy.allowsPath(s.path) && ctx.policy.allowsEnv(s.env)),
      );
    }
    let chosen = listed;
    if (args.keyPaths !== undefined) {
      chosen = [];
      for (const keyPath of args.keyPaths) {
        const key = parseKeyPath(keyPath);
        const ours = key.scope === 'project' && key.group === project;
        if (!ours && key.scope !== 'meta') {
          throw new CofferError('INVALID_ARGUMENT', `${key.path} belongs to another project`, {
            hint: `keyPaths name secrets of project ${project} or system-wide meta/ secrets.`,
          });
        }
        await authorizeTool(ctx, 'read', 'write_env', { path: key.path, env });
        const found = ours
          ? listed.find((s) => s.path === key.path)
          : await ctx.vault.info(key.path, env);
        if (found === undefined) {
          throw new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${env}`);
        }
        chosen.push(found);
      }
    }

    // The names rule of every injector; an agent can never allow a refused name. Each refused
    // variable is audited as a denied write_env: a name planted in the vault for an agent to
    // write is what the operator looks for in the log.
    await assertInjectableNamesAudited(
      chosen.map((s) => ({
        name: secretEnvVar(s),
        path: s.path,
      })),
      [],
      { action: 'write_env', env, deny },
      `write ${rel} with`,
      false,
    );
    const written: { path: string; env: string; version: number; name: string }[] = [];
    const read: { name: string; path: string; value: string }[] = [];
    for (const s of chosen) {
      const name = secretEnvVar(s);
      const got = await ctx.vault.get(s.path, env);
      read.push({ name, path: s.path, value: got.value });
      written.push({ path: s.path, env, version: got.version, name });
    }
    // A derived value (`{{ coffer://... }}` in a stored value) is resolved, as run does.
    const resolved = await resolveDerived({ getMany: (r) => ctx.vault.getMany(r) }, read, env);
    const values: Record<string, string> = Object.fromEntries(
      resolved.map((v) => [v.name, v.value]),
    );
    const names = Object.keys(values);
    if (names.length > 0) {
      // Written even when the file holds these values already: no answer, and no change of
      // the file or its mtime, may depend on whether a value in it equals the stored one.
      await writeAgentEnvFile(deny, 'write_env', fileTarget, abs, values, {
        rewrite: true,
        skipGitCheck: true,
        within: ctx.cwd,
      });
      await ctx.vault.recordFileWrite?.(abs, written, 'mcp write_env');
    }
    const warnings: string[] = [];
    const ignoreWarning = existsSync(abs) ? gitIgnoreWarning(abs, rel) : undefined;
    if (ignoreWarning !== undefined) warnings.push(ignoreWarning);
    return { file: rel, project, env, written: names, warnings };
  },
});
