/**
 * `rotation_status({ project?, env?, dueWithin? })`: which secrets are overdue, due soon,
 * never rotated, in a grace window or compromised (core/rotation/status.ts). Names, dates
 * and policies only, never a value; the same `list` access rule as list_secrets, and only
 * the key paths and environments this server may see are reported.
 */
import * as z from 'zod';
import { parseEnvironment, parsePathPrefix } from '../../core/paths.js';
import { parseDuration } from '../../core/rotation/duration.js';
import { ROTATION_STATES } from '../../core/rotation/status.js';
import { authorizeTool, type CofferTool, defineTool, READ_ONLY } from './tool.js';

const item = z.object({
  keyPath: z.string(),
  env: z.string(),
  state: z.enum(ROTATION_STATES as [string, ...string[]]),
  policy: z.string().nullable().describe('90d, 1y, on-compromise, never, or null'),
  version: z.number().int(),
  ageDays: z.number().int().describe('Days since the current version was stored'),
  dueAt: z.string().nullable(),
  neverRotated: z.boolean(),
  rotatedBy: z.string().nullable().describe('Who stored the current version'),
  graceUntil: z.string().nullable(),
  action: z.string().nullable().describe('The command the user should run next, if any'),
});

export const rotationStatusTool: CofferTool = defineTool({
  name: 'rotation_status',
  title: 'Rotation status',
  description:
    'List secrets by rotation state (compromised, grace-ended, in-grace, overdue, due-soon, no-policy, ok) ' +
    'with their policy, age and who rotated them last, never their values. Tell the user which ones to rotate; ' +
    'rotating is a human command (coffer rotate).',
  input: z.object({
    project: z.string().min(1).max(100).optional().describe('Only this project, e.g. consilio'),
    env: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('Only this environment (default: every environment this server may see)'),
    dueWithin: z
      .string()
      .max(10)
      .optional()
      .describe('What counts as due soon, e.g. 14d (default 30d)'),
  }),
  output: z.object({
    now: z.string(),
    overdue: z.number().int().describe('Secrets overdue or compromised'),
    items: z.array(item),
  }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    const env = args.env === undefined ? undefined : parseEnvironment(args.env);
    const dueWithinMs = parseDuration(args.dueWithin ?? '30d', 'dueWithin');
    const prefix =
      args.project === undefined ? undefined : parsePathPrefix(`project/${args.project}`);
    await authorizeTool(ctx, 'list', 'rotation_status', {
      ...(prefix !== undefined ? { path: `project/${prefix.group}`, prefix: true } : {}),
      ...(env !== undefined ? { env } : {}),
    });
    const report = await ctx.vault.rotationStatus({
      prefix,
      env,
      dueWithinMs,
      allows: (path, e) => ctx.policy.allowsPath(path) && ctx.policy.allowsEnv(e),
    });
    return {
      now: report.now,
      overdue: report.overdue,
      items: report.items.map((i) => ({
        keyPath: i.path,
        env: i.env,
        state: i.state,
        policy: i.policy,
        version: i.version,
        ageDays: i.ageDays,
        dueAt: i.dueAt,
        neverRotated: i.neverRotated,
        rotatedBy: i.rotatedBy,
        graceUntil: i.graceUntil,
        action: i.action,
      })),
    };
  },
});
