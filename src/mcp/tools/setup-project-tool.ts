/**
 * `setup_project({ env? })`: the development setup of the project's manifest (coffer.yaml
 * nearest to the server's working directory), as `coffer setup --env dev` runs it: what is
 * missing is generated (generate sources) or taken from the server's environment, nothing is
 * overwritten, and the answer names variables only. Development environments only: a
 * production setup needs a person (values injected or typed, `coffer setup --env prod`).
 * Values that must be asked for are reported as missing, with nothing stored.
 */
import * as z from 'zod';
import { loadNearestManifest } from '../../core/manifest/load.js';
import { runSetup } from '../../core/manifest/setup.js';
import { authorizeAgentSetup } from '../../core/manifest/setup-plan.js';
import type { ReadOutcome } from '../../core/store/vault.js';
import { authorizeTool, type CofferTool, callEnv, defineTool, envField } from './tool.js';

export const setupProjectTool: CofferTool = defineTool({
  name: 'setup_project',
  title: 'Set up the project for development',
  description:
    "Store every variable of the project's manifest (coffer.yaml) for a development environment: generates what is missing, never overwrites. Returns variable names and what was done, never values. Values that must be entered by a person are reported as missing.",
  input: z.object({ env: envField }),
  output: z.object({
    project: z.string(),
    env: z.string(),
    steps: z.array(
      z.object({
        name: z.string(),
        keyPath: z.string(),
        action: z.string().describe('keep, generate, from-env, value (plain setting), skip'),
      }),
    ),
  }),
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async run(args, ctx) {
    const manifest = loadNearestManifest(ctx.cwd);
    const env = callEnv(ctx, args.env, manifest.project);
    const prefix = `project/${manifest.project}`;
    await authorizeAgentSetup((a, t, r) => ctx.vault.denied(a, t, r), {
      path: prefix,
      env,
      prefix: true,
    });
    await authorizeTool(ctx, 'write', 'setup_project', { path: prefix, env, prefix: true });
    for (const v of manifest.variables) {
      await authorizeTool(ctx, 'write', 'setup_project', { path: v.path, env });
    }
    const vault = ctx.vault;
    const result = await runSetup(
      manifest,
      {
        denied: (a, t, r) => vault.denied(a, t, r),
        list: (o) => vault.list({ prefix: o.prefix ?? prefix, env: o.env ?? env }),
        info: (path, e) => vault.info(path, e),
        get: (path, e) => vault.get(path, e),
        set: (path, e, value, o) => vault.set(path, e, value, o),
        getMany: (requests) =>
          Promise.all(
            requests.map((r) =>
              vault.get(r.path, r.env).then(
                (value): ReadOutcome => ({ ok: true, value }),
                (error: unknown): ReadOutcome => ({ ok: false, error }),
              ),
            ),
          ),
      },
      { env, processEnv: process.env, ask: undefined },
    );
    return {
      project: result.project,
      env: result.env,
      steps: result.steps.map((s) => ({ name: s.name, keyPath: s.path, action: s.action })),
    };
  },
});
