/**
 * A value that names other secrets (`coffer://...` on its own, or text with
 * `{{ coffer://... }}` templates: a derived value) is resolved later by whoever reads it:
 * `coffer export` and `sync`, `run`, `env pull`, with the reader's access. Stored by a
 * writer limited by a policy (a token, an MCP server's `--allow`), such a value would let
 * that writer route secrets it may not read into the place the reader sends the project's
 * values (a deploy target, a .env file): a confused deputy. So a policy may store a
 * reference only to what it may itself read and reveal, and one it cannot check (a
 * `${VAR}` expanded by the reader, a reference that does not parse) not at all.
 */
import { CofferError } from '../errors.js';
import { isDerived, references } from '../references/reference.js';
import { type AccessPolicy, type Denier, refuse, type Target } from './policy.js';

/**
 * Refuses (audited, FORBIDDEN) storing `value` at `target` under `policy` when the value
 * refers to a secret the policy may not read with its value, or to one it cannot name
 * before the reader expands it.
 */
export async function authorizeValueReferences(
  policy: AccessPolicy,
  action: string,
  target: Target & { env: string },
  value: string,
  deny: Denier,
): Promise<void> {
  if (!isDerived(value)) return;
  let refs: ReturnType<typeof references>;
  try {
    // No variables: one inside a reference would be the reader's to expand (an error here).
    refs = references(value);
  } catch (err) {
    if (!(err instanceof CofferError)) throw err;
    refs = [];
  }
  if (refs.length === 0) {
    await refuse(
      policy,
      action,
      target,
      'the value holds a reference that cannot be checked against this policy (one with a variable, or one that does not parse)',
      deny,
    );
  }
  for (const ref of refs) {
    const env = ref.env ?? target.env;
    const reason = policy.refusal('read', { path: ref.path, env, values: true });
    if (reason !== undefined) {
      await refuse(
        policy,
        action,
        target,
        `the value refers to ${ref.path} (${env}), which may not be read with its value here: ${reason}`,
        deny,
      );
    }
  }
}
