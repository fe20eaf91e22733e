/**
 * `coffer sync --project P --env E --target T [--dry-run] [--prune]`: pushes a project's
 * exportable variables (local-only ones never, derived values resolved, names that make
 * programs load code only when allowed here, as for `coffer run`) to a deploy target
 * (sync/targets.ts) without a value in argv, in a file or in a message. `--dry-run` shows the
 * names to add, change and remove (a keyed comparison where the target returns values);
 * `--prune` removes what coffer synced there before and the project no longer has (never a
 * variable coffer did not put there). Every sync is audited (`sync`, with the
 * target and the names), which is where `rotate` and `incident` find where a value went.
 */
import type { Command } from 'commander';
import { CofferError } from '../../core/errors.js';
import { selectExport } from '../../core/export/select.js';
import {
  foreignExtras,
  planSync,
  type SyncPlan,
  syncedNames,
  syncRecordDetail,
} from '../../core/sync/plan.js';
import { action, type CommonOptions } from '../action.js';
import { type GlobalOptions, withLocalVault } from '../context.js';
import { projectAndEnv } from '../env-input.js';
import { envHelp } from '../env-option.js';
import { note, printJson, warn, writeOut } from '../output.js';
import { allowedEnvNames, collect } from '../project-file.js';
import { withSuggestions } from '../suggestions.js';
import {
  makeTarget,
  PartialPushError,
  parseTarget,
  SYNC_TARGETS,
  tokenVariable,
} from '../sync/targets.js';
import { manifestLocalOnly } from './export-command.js';

interface SyncOptions extends CommonOptions {
  project?: string;
  target: string;
  dryRun?: boolean;
  prune?: boolean;
  repo?: string;
  app?: string;
  service?: string;
  railwayProject?: string;
  railwayEnvironment?: string;
  tokenFrom?: string;
  allowEnvName?: string[];
}

function describePlan(plan: SyncPlan, prune: boolean): string {
  const line = (what: string, names: string[]) =>
    names.length === 0 ? [] : [`${what} (${names.length}): ${names.join(', ')}`];
  return [
    ...line('add', plan.add),
    ...line('change', plan.change),
    ...line(
      prune ? 'remove' : 'synced before, no longer in the project (kept; --prune removes)',
      plan.stale,
    ),
    ...line('only at the target, never synced by coffer (kept)', foreignExtras(plan)),
    ...line('unchanged', plan.unchanged),
  ].join('\n');
}

async function runSync(opts: SyncOptions, g: GlobalOptions): Promise<number> {
  const name = parseTarget(opts.target);
  const { project, env } = await withSuggestions(
    g,
    { kind: 'project', input: opts.project ?? '' },
    async () => projectAndEnv(opts),
  );
  const allowNames = allowedEnvNames(project, opts.allowEnvName);
  return withLocalVault('coffer sync', g, async ({ vault }) => {
    // What leaves, and the names check, first: a refused name stops the sync before the
    // --token-from secret is read or the target resolved (`gh repo view`, an API call).
    const secrets = await vault.readProject(project, env, 'sync');
    const selection = await selectExport(secrets, {
      env,
      manifestLocalOnly: await manifestLocalOnly(project, allowNames),
      reader: vault,
      allowNames,
      verb: 'sync',
      deny: (a, t, r) => vault.recordDenied(a, t, r),
    });
    const tokenEnv = tokenVariable(name);
    let token: string | undefined;
    if (opts.tokenFrom !== undefined) {
      token = (await vault.get(opts.tokenFrom, env)).value;
    } else if (tokenEnv !== undefined) {
      token = process.env[tokenEnv] || (name === 'github' ? process.env.GH_TOKEN : undefined);
    }
    const target = await makeTarget(name, { ...opts, token });
    const prune = opts.prune === true;
    // What coffer synced there before, from the audit records the vault vouches for: --prune
    // removes by them, and is refused when the audit log does not verify.
    const synced = await syncedNames(
      vault,
      [target.label, ...(target.formerLabels ?? [])],
      project,
      env,
      { prune },
    );
    const notUsed = synced.trust.notUsed;
    if (!synced.trust.verified) warn(`${notUsed}; no variable is listed as synced before`);
    else if (notUsed !== undefined)
      warn(
        `${notUsed}; the variables they name are ${prune ? 'not removed' : 'not listed as synced before'}`,
      );
    const plan = planSync(selection.variables, await target.read(), synced.names);
    if (opts.dryRun) {
      if (opts.json) printJson({ target: target.label, project, env, dryRun: true, ...plan });
      else {
        const text = describePlan(plan, prune);
        writeOut(text === '' ? 'nothing to sync\n' : `${text}\n`);
        note(`dry run: nothing was changed at ${target.label}`);
      }
      return 0;
    }
    const push = new Set([...plan.add, ...plan.change]);
    const vars = selection.variables.filter((v) => push.has(v.name));
    // Only what coffer synced there before: the target's own variables are never removed.
    const removed = prune ? plan.stale : [];
    const notOurs = foreignExtras(plan);
    let failure: unknown;
    let setDone = false;
    try {
      await target.set(vars);
      setDone = true;
      if (removed.length > 0) await target.remove(removed);
    } catch (err) {
      failure = err;
    }
    // What reached the target, even when the push failed part way: recorded, so a later
    // --prune knows coffer put it there.
    const pushed =
      failure === undefined || setDone
        ? vars
        : failure instanceof PartialPushError
          ? vars.filter((v) => !failure.notPushed.includes(v.name))
          : [];
    const failed =
      failure instanceof CofferError ? ` FAILED: ${failure.message}` : failure ? ' FAILED' : '';
    // One record per secret pushed (path, environment, version; the target and the variable
    // in the detail), as file writes are recorded: where rotation and incidents look.
    const versions = new Map(secrets.map((x) => [x.path, x.version]));
    await vault.auditedTransaction('sync', async () => ({
      result: undefined,
      detail: `to ${target.label} from project ${project} (${env}): pushed ${pushed.map((v) => v.name).join(',') || '-'}; removed ${removed.join(',') || '-'}${failed}`,
      audit: pushed.map((v) => ({
        action: 'sync',
        path: v.path,
        env,
        version: versions.get(v.path) ?? null,
        outcome: 'ok',
        detail: syncRecordDetail(target.label, v.name),
      })),
    }));
    if (failure !== undefined) throw failure;
    if (opts.json) {
      printJson({
        target: target.label,
        project,
        env,
        added: plan.add,
        changed: plan.change,
        removed,
        unchanged: plan.unchanged,
        kept: prune ? notOurs : plan.extra,
      });
    } else {
      note(
        `synced project ${project} (${env}) to ${target.label}: ${plan.add.length} added, ${plan.change.length} changed, ${removed.length} removed, ${plan.unchanged.length} unchanged`,
      );
      if (!prune && plan.stale.length > 0) {
        note(
          `synced before, no longer in the project (kept; --prune removes): ${plan.stale.join(', ')}`,
        );
      }
      if (notOurs.length > 0) {
        note(`only at the target, never synced by coffer (kept): ${notOurs.join(', ')}`);
      }
      for (const x of selection.excluded) note(`left out ${x.name} (${x.path}): ${x.reason}`);
    }
    return 0;
  });
}

export function syncCommand(program: Command): void {
  program
    .command('sync')
    .description(
      "push a project's variables to a deploy target (GitHub Actions, Fly, Heroku, Render, Railway)",
    )
    .option('-p, --project <name>', 'project (default: from .coffer or coffer.yaml here)')
    .option('-e, --env <env>', envHelp())
    .requiredOption('-t, --target <target>', SYNC_TARGETS.join(' | '))
    .option('--dry-run', 'show the names to add, change and remove; change nothing')
    .option('--prune', 'remove variables coffer synced there before that the project no longer has')
    .option(
      '--repo <owner/name>',
      'github: the repository (default: the one gh resolves here, by `gh repo view`)',
    )
    .option('--app <name>', 'fly, heroku: the app')
    .option('--service <id>', 'render, railway: the service id')
    .option('--railway-project <id>', 'railway: the project id')
    .option('--railway-environment <id>', 'railway: the environment id')
    .option(
      '--token-from <path>',
      'heroku, render, railway, github without gh: read the API token from this secret',
    )
    .option(
      '--allow-env-name <NAME>',
      'let a secret set NAME although it changes how programs load code (repeatable)',
      collect,
    )
    .option('--json', 'print the plan or the result (names only) as JSON')
    .addHelpText(
      'after',
      `
Values go to gh and fly on stdin, and to the Heroku, Render and Railway APIs in request
bodies (their CLIs take values only in argv); never in argv, a file or the output. Where gh
is not installed, a token (GITHUB_TOKEN, GH_TOKEN or --token-from) and --repo use GitHub's
REST API, each value sealed to the repository's public key (libsodium sealed box).
--prune removes only variables coffer synced to that target (that repository, app or
service) from this project and environment before; the target's own stay. It reads them
from the audit log, and refuses while \`coffer audit verify\` reports a break.
Local-only secrets are never synced. A secret whose variable would change how programs load
code (NODE_OPTIONS, LD_PRELOAD, PATH, ...: see docs/injection.md) stops the sync first,
before --token-from is read, gh is asked or anything is pushed (a denied audit record names
it), unless --allow-env-name or allow_env_names in the project file allows it.
API tokens: HEROKU_API_KEY, RENDER_API_KEY, RAILWAY_TOKEN, or --token-from PATH. Each sync
is recorded in the audit log.

Examples:
  coffer sync -p consilio -e prod --target github --repo acme/consilio --dry-run
  GITHUB_TOKEN=... coffer sync -p consilio -e prod --target github --repo acme/consilio
  coffer sync -p consilio -e prod --target fly --app consilio-prod
  coffer sync -p consilio -e prod --target heroku --app consilio --token-from meta/heroku/api_key --prune
  RENDER_API_KEY=... coffer sync -p consilio -e prod --target render --service srv-abc123`,
    )
    .action(action<SyncOptions>(async (_args, opts, g) => runSync(opts, g)));
}
