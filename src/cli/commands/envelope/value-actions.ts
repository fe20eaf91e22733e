/**
 * `coffer envelope encrypt` and `decrypt`: one value on stdin, the result on stdout (one
 * line). The value never appears in argv, in messages or in --json errors.
 */

import { encryptJsonBlob, envelopeKeyId, openJsonBlob } from '../../../core/envelope/json-blob.js';
import { CofferError } from '../../../core/errors.js';
import type { GlobalOptions } from '../../context.js';
import { readStdinRest } from '../../input.js';
import { printJson, writeOut } from '../../output.js';
import { type KeyCliOptions, loadKeyring } from './keyring-source.js';

export interface ValueCliOptions extends KeyCliOptions {
  context: string;
  text?: boolean;
}

export async function encryptAction(opts: ValueCliOptions, g: GlobalOptions): Promise<number> {
  // One trailing newline is dropped (`echo value | ...`), as `coffer set` does.
  const input = await readStdinRest('value', false);
  let value: unknown = input;
  if (!opts.text) {
    try {
      value = JSON.parse(input);
    } catch {
      throw new CofferError('INVALID_VALUE', 'stdin is not JSON text', {
        hint: 'Pass --text to encrypt the input as a string.',
      });
    }
  }
  const keyring = await loadKeyring(opts, g);
  try {
    const envelope = encryptJsonBlob(value, keyring, {
      context: opts.context,
      allowPlaintext: opts.allowPlaintext === true,
    });
    if (opts.json) printJson({ envelope, keyId: envelopeKeyId(envelope) ?? null });
    else writeOut(`${envelope}\n`);
    return 0;
  } finally {
    keyring.destroy();
  }
}

export async function decryptAction(opts: ValueCliOptions, g: GlobalOptions): Promise<number> {
  const stored = (await readStdinRest('envelope', false)).trim();
  const keyring = await loadKeyring(opts, g);
  try {
    const opened = openJsonBlob(stored, keyring, {
      context: opts.context,
      allowPlaintext: opts.allowPlaintext === true,
    });
    if (opts.json) {
      printJson({ value: opened.value, keyId: opened.keyId ?? null, plaintext: opened.plaintext });
    } else if (opts.text && typeof opened.value === 'string') {
      writeOut(`${opened.value}\n`);
    } else {
      writeOut(`${JSON.stringify(opened.value)}\n`);
    }
    return 0;
  } finally {
    keyring.destroy();
  }
}
