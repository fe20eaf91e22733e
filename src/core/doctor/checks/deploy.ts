/**
 * Deployment files: secret values written in place (not references) in docker-compose
 * `environment:` blocks, in Dockerfiles (`ENV`/`ARG` with values, secret files copied into
 * the image) and in CI workflow files (GitHub Actions, GitLab CI, CircleCI). Each finding
 * names the file, the line and the variable, never the value.
 */
import { scanText } from '../../scan/scanner.js';
import type { DoctorContext } from '../context.js';
import type { Check, Evidence, Unread } from '../types.js';
import { base, isLiteralSecret } from './util.js';

const COMPOSE = /^(?:docker-)?compose(?:[.-][\w.-]+)?\.ya?ml$/;
const DOCKERFILE = /^(?:Dockerfile|Containerfile)(?:\..+)?$|\.Dockerfile$/;
const CI =
  /^\.github\/workflows\/[^/]+\.ya?ml$|(?:^|\/)\.gitlab-ci\.ya?ml$|^\.circleci\/config\.ya?ml$|(?:^|\/)bitbucket-pipelines\.ya?ml$/;

export function isDeploymentFile(file: string): boolean {
  const b = base(file);
  return COMPOSE.test(b) || DOCKERFILE.test(b) || CI.test(file);
}

/** Lines (1-based) where the scanner finds a secret in `file`, with stored values. */
async function scannedLines(ctx: DoctorContext, file: string, text: string): Promise<Set<number>> {
  const matcher = await ctx.storedValues();
  return new Set(scanText(text, file, { storedValues: matcher }).map((f) => f.line));
}

interface Assignment {
  line: number;
  name: string;
  value: string;
}

/** `NAME: value` and `- NAME=value` items of YAML mappings (environment, variables, env). */
function yamlAssignments(text: string, inBlock: (key: string) => boolean): Assignment[] {
  const out: Assignment[] = [];
  const lines = text.split('\n');
  let block: number | undefined; // indentation of the block's key
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    const indent = raw.length - raw.trimStart().length;
    if (block !== undefined && indent <= block && !raw.trimStart().startsWith('- '))
      block = undefined;
    if (block !== undefined && indent < block) block = undefined;
    const key = /^(\s*)([\w.-]+):\s*(?:#.*)?$/.exec(raw);
    if (key && inBlock(key[2]!)) {
      block = key[1]!.length;
      continue;
    }
    if (block === undefined || indent <= block) continue;
    const t = raw.trim();
    const list = /^-\s+["']?([A-Za-z_][\w.-]*)=(.*?)["']?\s*$/.exec(t);
    const map = /^([A-Za-z_][\w.-]*):\s+(.+?)\s*$/.exec(t);
    const m = list ?? map;
    if (m) out.push({ line: i + 1, name: m[1]!, value: m[2]!.replace(/\s+#.*$/, '') });
  }
  return out;
}

async function literalFindings(
  ctx: DoctorContext,
  files: readonly string[],
  assignments: (text: string) => Assignment[],
  where: string,
): Promise<{ evidence: Evidence[]; unread: Unread[] }> {
  const evidence: Evidence[] = [];
  for (const file of files) {
    const text = ctx.text(file);
    if (text === undefined) continue;
    const flagged = await scannedLines(ctx, file, text);
    const seen = new Set<number>();
    for (const a of assignments(text)) {
      if (isLiteralSecret(a.name, a.value) || flagged.has(a.line)) {
        seen.add(a.line);
        evidence.push({ file, line: a.line, message: `${a.name} has a value written in ${where}` });
      }
    }
    for (const line of flagged) {
      if (!seen.has(line))
        evidence.push({ file, line, message: `a secret is written in ${where}` });
    }
  }
  evidence.sort((a, b) => (a.file! < b.file! ? -1 : a.file! > b.file! ? 1 : a.line! - b.line!));
  // A deployment file that cannot be read may hold a secret: said, never taken as clean.
  return { evidence, unread: ctx.unreadOf(files) };
}

const compose: Check = {
  id: 'deploy/compose-secrets',
  category: 'deploy',
  severity: 'error',
  title: 'no secret values in docker-compose files',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} reference, not a template
  why: 'The seed keeps secrets out of docker-compose files: environment: takes ${VAR} references and the values come from an env_file that is not committed.',
  async run(ctx) {
    const files = ctx.committable().filter((f) => COMPOSE.test(base(f)));
    if (files.length === 0) return { evidence: [], skipped: 'no docker-compose file' };
    const { evidence, unread } = await literalFindings(
      ctx,
      files,
      (t) => yamlAssignments(t, (k) => k === 'environment'),
      'a compose file',
    );
    return {
      evidence,
      unread,
      fixes: [
        {
          description:
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} reference, not a template
            'write NAME=${NAME} under environment: and load the values from an env_file (e.g. .env.prod, git-ignored); coffer export prints the snippet',
          command: 'coffer export --project P --env prod --format compose',
        },
      ],
    };
  },
};

/** `ENV NAME=value`, `ENV NAME value`, `ARG NAME=value` of a Dockerfile. */
function dockerAssignments(text: string): Assignment[] {
  const out: Assignment[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.replace(/\r$/, '');
    const m = /^\s*(ENV|ARG)\s+(.*)$/i.exec(l);
    if (!m) continue;
    const rest = m[2]!;
    const pairs = [...rest.matchAll(/([A-Za-z_][\w]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S+)/g)];
    if (pairs.length > 0) {
      for (const p of pairs) out.push({ line: i + 1, name: p[1]!, value: p[2]! });
    } else if (m[1]!.toUpperCase() === 'ENV') {
      const legacy = /^([A-Za-z_]\w*)\s+(.+)$/.exec(rest.trim());
      if (legacy) out.push({ line: i + 1, name: legacy[1]!, value: legacy[2]! });
    }
  }
  return out;
}

const SECRET_COPY =
  /(?:^|[\s/])(?:\.env(?:\.[\w.-]+)?|[\w.-]*\.pem|[\w.-]*\.key|credentials\.json|secrets\.json|id_rsa|id_ed25519)(?=\s|$)/;

const dockerfile: Check = {
  id: 'deploy/dockerfile-secrets',
  category: 'deploy',
  severity: 'error',
  title: 'no secrets in Dockerfiles',
  why: 'The seed keeps secrets out of Dockerfiles: ENV, ARG and copied files end up in image layers that anyone with the image can read.',
  async run(ctx) {
    const files = ctx.committable().filter((f) => DOCKERFILE.test(base(f)));
    if (files.length === 0) return { evidence: [], skipped: 'no Dockerfile' };
    const { evidence, unread } = await literalFindings(
      ctx,
      files,
      dockerAssignments,
      'a Dockerfile',
    );
    for (const file of files) {
      const lines = (ctx.text(file) ?? '').split('\n');
      for (let i = 0; i < lines.length; i++) {
        const m = /^\s*(?:COPY|ADD)\s+(?:--\S+\s+)*(.+)$/i.exec(lines[i]!.replace(/\r$/, ''));
        if (!m) continue;
        const sources = m[1]!.trim().split(/\s+/).slice(0, -1).join(' ');
        if (SECRET_COPY.test(` ${sources}`)) {
          evidence.push({ file, line: i + 1, message: 'a secret file is copied into the image' });
        }
      }
    }
    return {
      evidence,
      unread,
      fixes: [
        {
          description:
            'pass secrets at run time (docker run --env-file, or coffer run) or as build secrets (RUN --mount=type=secret,id=NAME), never ENV/ARG values or COPY',
        },
      ],
    };
  },
};

const ci: Check = {
  id: 'deploy/ci-secrets',
  category: 'deploy',
  severity: 'error',
  title: 'no secret values in CI workflow files',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} reference, not a template
  why: "The seed keeps secrets out of CI/CD workflow files: they use the CI's secrets (${{ secrets.NAME }}) instead.",
  async run(ctx) {
    const files = ctx.committable().filter((f) => CI.test(f));
    if (files.length === 0) return { evidence: [], skipped: 'no CI workflow file' };
    const { evidence, unread } = await literalFindings(
      ctx,
      files,
      (t) => yamlAssignments(t, (k) => k === 'env' || k === 'variables' || k === 'environment'),
      'a CI workflow',
    );
    return {
      evidence,
      unread,
      fixes: [
        {
          description:
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} reference, not a template
            "store the value in the CI's secrets and write NAME: ${{ secrets.NAME }} (GitHub) or a masked CI/CD variable (GitLab); coffer sync pushes them",
          command: 'coffer sync --project P --env prod --target github --dry-run',
        },
      ],
    };
  },
};

export const DEPLOY_CHECKS: readonly Check[] = [compose, dockerfile, ci];
