/**
 * What a value given for a secret request (its one-time page, or the web UI's answer) may be:
 * one the vault takes (size, no NUL: store/values.ts), and a plain value, never a reference
 * to other secrets (`coffer://...`, `{{ coffer://... }}`). Whoever opens a request link
 * answers as the agent or token that asked, and a stored reference is resolved later with the
 * reader's access: a write-only token could otherwise ask, answer its own link with
 * `{{ coffer://project/other/key }}`, and have the owner's next export or env pull copy that
 * secret into its project. Derived values are stored with `coffer set`, under a policy that
 * may read what they name (access/value-references.ts).
 *
 * Checked before the request is spent, so a refused value leaves the link usable.
 */
import { CofferError } from '../errors.js';
import { isDerived } from '../references/reference.js';
import { valueBytes } from '../store/values.js';

export function assertAnswerValue(value: string): void {
  valueBytes(value).fill(0);
  if (isDerived(value)) {
    throw new CofferError(
      'INVALID_VALUE',
      'a value given for a request cannot name other secrets (coffer://...)',
      { hint: 'Give the value itself; a derived value is stored with `coffer set`.' },
    );
  }
}
