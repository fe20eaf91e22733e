/**
 * coffer's age files against the `age-encryption` library in both directions: what coffer
 * writes (library header, node:crypto scrypt and payload) the library decrypts on its own,
 * and what the library writes coffer decrypts, for payloads around the 64 KiB chunk
 * boundaries, to a passphrase and to X25519 recipients. (`age -d` itself: test/e2e/backup.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { Decrypter, Encrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { decryptBackup, encryptBackup } from './age.js';

const PASS = 'correct horse battery staple';
const CHUNK = 64 * 1024;
const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 17];

async function libraryDecrypt(file: Uint8Array, key: { passphrase?: string; identity?: string }) {
  const d = new Decrypter();
  if (key.passphrase !== undefined) d.addPassphrase(key.passphrase);
  if (key.identity !== undefined) d.addIdentity(key.identity);
  return d.decrypt(file);
}

describe('age interoperability', () => {
  it('the library opens what coffer writes, and coffer what the library writes (passphrase)', {
    timeout: 120_000,
  }, async () => {
    for (const size of SIZES) {
      const plain = new Uint8Array(randomBytes(size));
      const ours = await encryptBackup(plain, { passphrase: PASS, workFactor: 14 });
      expect(await decryptBackup(ours, { passphrase: PASS }), `size ${size}`).toEqual(plain);
      // The library's scrypt is JavaScript (slow at 2^14): one size; the payload is the same code.
      if (size === 2 * CHUNK) {
        expect(await libraryDecrypt(ours, { passphrase: PASS }), `size ${size}`).toEqual(plain);
      }
      const e = new Encrypter();
      e.setPassphrase(PASS);
      e.setScryptWorkFactor(10);
      const theirs = await e.encrypt(plain);
      expect(await decryptBackup(theirs, { passphrase: PASS }), `size ${size}`).toEqual(plain);
    }
  });

  it('to X25519 recipients, any of which opens it, through either implementation', async () => {
    const ids = [await generateIdentity(), await generateIdentity()];
    const recipients = await Promise.all(ids.map((id) => identityToRecipient(id)));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3 * CHUNK }), async (plain) => {
        const file = await encryptBackup(plain, { recipients });
        for (const identity of ids) {
          expect(await libraryDecrypt(file, { identity })).toEqual(plain);
          expect(await decryptBackup(file, { identities: [identity] })).toEqual(plain);
        }
      }),
      { numRuns: 8 },
    );
  });

  it('refuses a payload cut at a chunk boundary, a flipped tag and an empty extra chunk', async () => {
    const plain = new Uint8Array(randomBytes(2 * CHUNK));
    const file = await encryptBackup(plain, { passphrase: PASS, workFactor: 14 });
    const code = async (f: Uint8Array) =>
      decryptBackup(f, { passphrase: PASS }).then(
        () => 'opened',
        (e: unknown) => (e instanceof CofferError ? e.code : String(e)),
      );
    // Dropping the last full chunk leaves a valid-looking file whose last chunk lacks the
    // final flag: refused.
    expect(await code(file.subarray(0, file.length - (CHUNK + 16)))).toBe('BACKUP_INVALID');
    const flipped = new Uint8Array(file);
    flipped[flipped.length - 1]! ^= 1;
    expect(await code(flipped)).toBe('BACKUP_INVALID');
    const longer = new Uint8Array(file.length + 16);
    longer.set(file);
    expect(await code(longer)).toBe('BACKUP_INVALID');
    expect(await code(file.subarray(0, 60))).toBe('BACKUP_INVALID');
  });
});
