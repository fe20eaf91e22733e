/**
 * `report_leak({ keyPath, where, env? })`: an agent that sees a secret where it should not be
 * (a log, a transcript, a commit) opens an incident (core/incident): the secret is marked
 * compromised, so `rotation status` shows it until a person rotates it with `coffer incident`.
 * An agent can open an incident, never close one; nothing is rotated and no value returned.
 */
import * as z from 'zod';
import { CofferError } from '../../core/errors.js';
import { type CofferTool, defineTool, envField, keyPathField, target } from './tool.js';

export const reportLeakTool: CofferTool = defineTool({
  name: 'report_leak',
  title: 'Report a leaked secret',
  description:
    'Open an incident for a secret that appeared where it should not (a log, a chat, a commit, a public page): ' +
    'it is marked compromised until the user rotates it with `coffer incident`. Say where you saw it; never include the value.',
  input: z.object({
    keyPath: keyPathField,
    where: z
      .string()
      .min(1)
      .max(500)
      .describe(
        'Where the value was seen, e.g. "printed in the CI log of job 1234"; never the value',
      ),
    env: envField,
  }),
  output: z.object({
    incident: z.string().describe('The incident id'),
    keyPath: z.string(),
    env: z.string(),
    resumed: z.boolean().describe('true when an incident on this secret was already open'),
    next: z.string().describe('What the user runs next'),
  }),
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async run(args, ctx) {
    const { path, env } = await target(args.keyPath, args.env, ctx, 'write', 'report_leak');
    if (ctx.vault.reportLeak === undefined) {
      throw new CofferError('USAGE', 'report_leak is not available in remote mode yet', {
        hint: 'Ask the user to run `coffer incident PATH` where the vault is.',
      });
    }
    const r = await ctx.vault.reportLeak(path, env, args.where);
    return {
      incident: r.id,
      keyPath: path,
      env,
      resumed: r.resumed,
      next: `coffer incident ${path} --env ${env} --report incident.md`,
    };
  },
});
