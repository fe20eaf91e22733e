/**
 * The parts of age (https://age-encryption.org/v1) that cost time, on node:crypto: the scrypt
 * passphrase stanza (OpenSSL's scrypt, run on libuv's thread pool, so a server taking a
 * scheduled backup keeps serving) and the STREAM payload (ChaCha20-Poly1305 over 64 KiB
 * chunks). The `age-encryption` library (age.ts) keeps the rest: the header, its MAC, and
 * the X25519 and post-quantum recipients. The library does all of this in JavaScript: about
 * 2.5 s of CPU for scrypt at 2^18 and 1 s per 45 MB of payload, against 0.4 s and 0.05 s here.
 *
 * The layout follows the age specification exactly (checked against the library and the
 * `age` command in both directions, backup.test.ts and test/e2e/backup.test.ts):
 *
 *   scrypt stanza  -> scrypt SALT LOGN  (SALT: 16 random bytes, unpadded base64)
 *                  body = ChaCha20-Poly1305(key, nonce 0^12, file key), where
 *                  key = scrypt(passphrase, "age-encryption.org/v1/scrypt" || SALT,
 *                               N = 2^LOGN, r = 8, p = 1, 32 bytes)
 *   payload        NONCE (16 random bytes), then chunks of 64 KiB of plaintext each sealed
 *                  with ChaCha20-Poly1305 under HKDF-SHA256(file key, NONCE, "payload"),
 *                  nonce = 11-byte big-endian chunk counter || 0x01 on the last chunk, else
 *                  0x00. The last chunk may be full; it is empty only when the plaintext is.
 */
import {
  createCipheriv,
  createDecipheriv,
  hkdfSync,
  randomBytes,
  scrypt as scryptCallback,
} from 'node:crypto';

const CHUNK = 64 * 1024;
const TAG = 16;
const SEALED_CHUNK = CHUNK + TAG;
const NONCE = 16;
const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt';
/** The highest work factor a backup may ask of its reader (as the `age` command). */
export const MAX_READ_WORK_FACTOR = 22;

/** An age Recipient and Identity, as the library's interfaces describe them. */
export interface AgeRecipient {
  wrapFileKey(fileKey: Uint8Array): AgeStanza[] | Promise<AgeStanza[]>;
}
export interface AgeIdentity {
  unwrapFileKey(stanzas: AgeStanza[]): Uint8Array | null | Promise<Uint8Array | null>;
}

/** A stanza as the library's Stanza class holds it (its constructor is passed in). */
export interface AgeStanza {
  args: string[];
  body: Uint8Array;
}
export type StanzaConstructor = new (args: string[], body: Uint8Array) => AgeStanza;

function chachaSeal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
  const head = c.update(plain);
  const tail = c.final();
  return Buffer.concat([head, tail, c.getAuthTag()]);
}

/** Opens a ChaCha20-Poly1305 box; undefined when it does not authenticate. */
function chachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG) return undefined;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  const head = d.update(sealed.subarray(0, sealed.length - TAG));
  try {
    const tail = d.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    head.fill(0);
    return undefined;
  }
}

/** scrypt with age's parameters, off the event loop. */
function ageScrypt(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const input = Buffer.concat([Buffer.from(SCRYPT_LABEL, 'latin1'), salt]);
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    scryptCallback(
      passphrase,
      input,
      32,
      { N, r: 8, p: 1, maxmem: 256 * N * 8 + 16 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

const b64 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64').replace(/=+$/, '');

/** An age Recipient (the library's interface) for a passphrase. */
export function scryptRecipient(
  Stanza: StanzaConstructor,
  passphrase: string,
  logN: number,
): AgeRecipient {
  return {
    async wrapFileKey(fileKey: Uint8Array): Promise<AgeStanza[]> {
      const salt = randomBytes(16);
      const key = await ageScrypt(passphrase, salt, logN);
      try {
        const body = chachaSeal(key, new Uint8Array(12), fileKey);
        return [new Stanza(['scrypt', b64(salt), String(logN)], new Uint8Array(body))];
      } finally {
        key.fill(0);
      }
    },
  };
}

/**
 * An age Identity (the library's interface) for a passphrase: null when the passphrase
 * does not open the stanza; throws on a malformed scrypt stanza (as the library does).
 */
export function scryptIdentity(passphrase: string): AgeIdentity {
  return {
    async unwrapFileKey(stanzas: AgeStanza[]): Promise<Uint8Array | null> {
      for (const s of stanzas) {
        if (s.args[0] !== 'scrypt') continue;
        if (stanzas.length !== 1) throw new Error('scrypt recipient is not the only one');
        const [, salt64, logText] = s.args;
        if (s.args.length !== 3 || salt64 === undefined || logText === undefined) {
          throw new Error('invalid scrypt stanza');
        }
        if (!/^[1-9][0-9]?$/.test(logText) || !/^[A-Za-z0-9+/]{22}$/.test(salt64)) {
          throw new Error('invalid scrypt stanza');
        }
        const logN = Number(logText);
        if (logN > MAX_READ_WORK_FACTOR) throw new Error('scrypt work factor is too high');
        if (s.body.length !== 32) throw new Error('invalid scrypt stanza');
        const key = await ageScrypt(passphrase, Buffer.from(salt64, 'base64'), logN);
        try {
          const fileKey = chachaOpen(key, new Uint8Array(12), s.body);
          if (fileKey !== undefined) return new Uint8Array(fileKey);
        } finally {
          key.fill(0);
        }
      }
      return null;
    },
  };
}

/** The length of an age header (up to and including its MAC line), or undefined. */
export function headerLength(file: Uint8Array): number | undefined {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.length);
  const mac = buf.indexOf('\n---', 0, 'latin1');
  if (mac < 0) return undefined;
  const end = buf.indexOf(0x0a, mac + 1);
  return end < 0 ? undefined : end + 1;
}

function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

function chunkNonce(nonce: Buffer, counter: number, last: boolean): Buffer {
  nonce.fill(0);
  nonce.writeUIntBE(counter, 5, 6);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * Seals a payload pushed in pieces of any size: each 64 KiB chunk is encrypted once the
 * next byte arrives (only then is it known not to be the last), the last one by `finish`,
 * which returns `header || nonce || sealed chunks`. The plaintext is never held whole.
 */
export class PayloadSealer {
  readonly #parts: Buffer[] = [];
  readonly #key: Buffer;
  readonly #chunk = Buffer.allocUnsafe(CHUNK);
  readonly #nonce = Buffer.alloc(12);
  #used = 0;
  #counter = 0;
  #size: number;

  constructor(header: Uint8Array, fileKey: Uint8Array) {
    const nonce = randomBytes(NONCE);
    this.#parts.push(Buffer.from(header), nonce);
    this.#size = header.length + NONCE;
    this.#key = payloadKey(fileKey, nonce);
  }

  #seal(last: boolean): void {
    const c = createCipheriv(
      'chacha20-poly1305',
      this.#key,
      chunkNonce(this.#nonce, this.#counter++, last),
      { authTagLength: TAG },
    );
    const sealed = Buffer.concat([
      c.update(this.#chunk.subarray(0, this.#used)),
      c.final(),
      c.getAuthTag(),
    ]);
    this.#parts.push(sealed);
    this.#size += sealed.length;
    this.#used = 0;
  }

  push(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.#used === CHUNK) this.#seal(false);
      const n = Math.min(CHUNK - this.#used, bytes.length - at);
      this.#chunk.set(bytes.subarray(at, at + n), this.#used);
      this.#used += n;
      at += n;
    }
  }

  finish(): Uint8Array {
    this.#seal(true);
    this.#chunk.fill(0);
    this.#key.fill(0);
    const out = Buffer.concat(this.#parts, this.#size);
    this.#parts.length = 0;
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
}

/** Opens an age payload (nonce and chunks) with `fileKey`; throws when anything fails. */
export function openPayload(fileKey: Uint8Array, payload: Uint8Array): Uint8Array {
  if (payload.length < NONCE + TAG) throw new Error('the payload is truncated');
  const body = payload.subarray(NONCE);
  const chunks = Math.max(1, Math.ceil(body.length / SEALED_CHUNK));
  const lastSize = body.length - (chunks - 1) * SEALED_CHUNK;
  if (lastSize < TAG || (lastSize === TAG && chunks > 1)) {
    throw new Error('the payload is truncated');
  }
  const out = Buffer.allocUnsafe(body.length - chunks * TAG);
  const key = payloadKey(fileKey, payload.subarray(0, NONCE));
  const n = Buffer.alloc(12);
  let at = 0;
  try {
    for (let i = 0; i < chunks; i++) {
      const sealed = body.subarray(i * SEALED_CHUNK, Math.min(body.length, (i + 1) * SEALED_CHUNK));
      const d = createDecipheriv('chacha20-poly1305', key, chunkNonce(n, i, i === chunks - 1), {
        authTagLength: TAG,
      });
      d.setAuthTag(sealed.subarray(sealed.length - TAG));
      at += d.update(sealed.subarray(0, sealed.length - TAG)).copy(out, at);
      at += d.final().copy(out, at);
    }
  } catch (err) {
    out.fill(0);
    throw err;
  } finally {
    key.fill(0);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
