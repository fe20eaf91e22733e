/**
 * `coffer redact`: masks the stored values of a project (every given environment) in what
 * comes in on stdin, with core/redact (each value also JSON-escaped, URL-encoded, base64,
 * hex). `--hook claude-code` is the Claude Code PostToolUse hook that `coffer agent setup`
 * installs: it reads the hook's JSON and answers with the tool's output masked
 * (`updatedToolOutput`), so a value a shell command printed never reaches the model. When
 * the values cannot be loaded the hook withholds the output instead of passing it on.
 */
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { CofferError } from '../../core/errors.js';
import { parseEnvironment } from '../../core/paths.js';
import { projectValues } from '../../core/service/project-variables.js';
import { action, type CommonOptions } from '../action.js';
import { type GlobalOptions, withService } from '../context.js';
import { envOf } from '../env-option.js';
import { rawStdout, writeOut } from '../output.js';
import { collect, resolveProject } from '../project-file.js';

interface RedactOptions extends CommonOptions {
  project?: string;
  hook?: string;
}

/** The largest hook input read (a tool's output, as JSON). */
const MAX_HOOK_INPUT = 64 * 1024 * 1024;

export function redactCommand(program: Command): void {
  program
    .command('redact')
    .description("mask a project's stored values in stdin (or a Claude Code hook's tool output)")
    .option('-p, --project <name>', 'project (default: from .coffer or coffer.yaml)')
    .option('-e, --env <env>', 'environment whose values are masked (repeatable)', collect, [])
    .option('--hook <client>', 'act as the PostToolUse hook of a client: claude-code')
    .addHelpText(
      'after',
      `
Every value of the project's secrets in the given environments (default: --env, COFFER_ENV,
dev) becomes [REDACTED], also JSON-escaped, URL-encoded, base64 and hex. Values shorter
than 4 characters are left alone.

With --hook claude-code it reads Claude Code's PostToolUse input and prints the tool's
output masked (nothing when there is nothing to mask); \`coffer agent setup\` installs it.
If the values cannot be loaded, the output is withheld, never passed on unmasked.

Examples:
  some-command 2>&1 | coffer redact --project consilio --env dev --env prod
  coffer redact --hook claude-code --project consilio --env dev   # in .claude/settings.json`,
    )
    .action(
      action<RedactOptions>(async (_args, opts, g) => {
        // --env is repeatable here: commander hands over the collected list.
        const envList = (opts as unknown as { env?: string[] }).env ?? [];
        if (opts.hook !== undefined && opts.hook !== 'claude-code') {
          throw new CofferError(
            'USAGE',
            `--hook ${opts.hook} is not a client coffer has a hook for`,
            {
              hint: 'Use --hook claude-code.',
            },
          );
        }
        if (opts.hook === 'claude-code') return claudeCodeHook(g, opts.project, envList);
        const values = await storedValues(g, opts.project, envList);
        const { createMaskingTransform } = await import('../../core/redact/stream.js');
        await pipeline(process.stdin, createMaskingTransform(values), rawStdout());
        return 0;
      }),
    );
}

/** The values to mask: the project's in each environment (core/service/project-variables.ts). */
async function storedValues(
  g: GlobalOptions,
  projectFlag: string | undefined,
  envFlags: string[],
): Promise<string[]> {
  const { project } = resolveProject(projectFlag);
  const envs =
    envFlags.length > 0 ? envFlags.map((e) => parseEnvironment(e)) : [envOf({}, project)];
  return withService({ ...g, noPrompt: true }, (service) =>
    projectValues(service, project, envs, 'redact'),
  );
}

async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_HOOK_INPUT)
      throw new CofferError('INVALID_ARGUMENT', 'the hook input is larger than 64 MiB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Prints the PostToolUse answer that replaces the tool's output with `output`. */
function replaceOutput(toolName: unknown, output: unknown): void {
  const mcp = typeof toolName === 'string' && toolName.startsWith('mcp__');
  writeOut(
    `${JSON.stringify({
      hookSpecificOutput: {
        hookEventName: 'PostToolUse',
        updatedToolOutput: output,
        // Claude Code before 2.1.121 replaces MCP tools' output only, under this name.
        ...(mcp ? { updatedMCPToolOutput: output } : {}),
      },
    })}\n`,
  );
}

async function claudeCodeHook(
  g: GlobalOptions,
  project: string | undefined,
  envs: string[],
): Promise<number> {
  let input: { tool_name?: unknown; tool_response?: unknown } | undefined;
  try {
    input = JSON.parse(await readAll());
    if (typeof input !== 'object' || input === null || !('tool_response' in input)) {
      throw new CofferError('INVALID_ARGUMENT', 'the hook input has no tool_response');
    }
    const values = await storedValues(g, project, envs);
    const { createRedactor } = await import('../../core/redact/redact.js');
    const masked = createRedactor({ values }).redactObject(input.tool_response);
    if (JSON.stringify(masked) !== JSON.stringify(input.tool_response))
      replaceOutput(input.tool_name, masked);
    return 0;
  } catch (err) {
    // Fail closed: the model gets a notice (no value, no stack), not the unmasked output.
    const why = err instanceof CofferError ? err.code : 'INTERNAL';
    replaceOutput(
      input?.tool_name,
      `[coffer redact: this output is withheld because coffer could not mask it (${why}); run \`coffer agent check\`]`,
    );
    return 0;
  }
}
