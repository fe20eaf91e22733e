import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveSubkey } from '../crypto/subkeys.js';
import {
  checkpointMacValid,
  formatCheckpointLine,
  formatHead,
  formatUnboundHead,
  headMacKind,
  makeCheckpoint,
  parseCheckpoint,
  parseHead,
} from './head.js';

const V = JSON.parse(
  readFileSync(new URL('../../../test/vectors/audit-head-v1.json', import.meta.url), 'utf8'),
) as {
  masterKey: string;
  subkey: string;
  seq: number;
  hash: string;
  vaultId: string;
  head: string;
  unboundHead: string;
  checkpoint: { seq: number; hash: string; time: string; mac: string };
  checkpointLine: string;
};
const key = deriveSubkey(Buffer.from(V.masterKey, 'hex'), 'audit-head');
const headKey = { key, vaultId: new Uint8Array(Buffer.from(V.vaultId, 'hex')) };
const valid = (head: Parameters<typeof headMacKind>[1]) => headMacKind(headKey, head) === 'bound';

/** `text` with the character at `i` replaced by another hex digit. */
const flip = (text: string, i: number): string =>
  text.slice(0, i) + (text[i] === '0' ? '1' : '0') + text.slice(i + 1);

describe('audit head and checkpoint MACs', () => {
  it('match the vectors', () => {
    expect(Buffer.from(key).toString('hex')).toBe(V.subkey);
    expect(formatHead(headKey, V.seq, V.hash)).toBe(V.head);
    expect(formatUnboundHead(key, V.seq, V.hash)).toBe(V.unboundHead);
    expect(headMacKind(headKey, parseHead(V.head)!)).toBe('bound');
    expect(headMacKind(headKey, parseHead(V.unboundHead)!)).toBe('unbound');
    const cp = makeCheckpoint(key, V.seq, V.hash, V.checkpoint.time);
    expect(cp).toEqual({ format: 'coffer-audit-checkpoint/v1', ...V.checkpoint });
    expect(formatCheckpointLine(cp)).toBe(V.checkpointLine);
    expect(parseCheckpoint(V.checkpointLine)).toEqual(cp);
    expect(parseCheckpoint(JSON.stringify(cp, null, 2))).toEqual(cp);
    expect(checkpointMacValid(key, cp)).toBe(true);
  });

  it('reads a legacy head as one without a MAC, and refuses other shapes', () => {
    expect(parseHead(`7:${V.hash}`)).toEqual({ seq: 7, hash: V.hash, mac: null });
    expect(headMacKind(headKey, parseHead(`7:${V.hash}`)!)).toBe('invalid');
    for (const bad of ['', 'x', `07:${V.hash}`, `7:${V.hash.toUpperCase()}`, `7:${V.hash}:zz`]) {
      expect(parseHead(bad)).toBeUndefined();
    }
  });

  it('property: any changed digit of a head or a checkpoint fails its MAC', () => {
    const head = parseHead(V.head)!;
    const cp = parseCheckpoint(V.checkpointLine);
    fc.assert(
      fc.property(fc.nat(63), fc.constantFrom('hash', 'mac'), (i, field) => {
        expect(valid({ ...head, [field]: flip(head[field]!, i) })).toBe(false);
        expect(checkpointMacValid(key, { ...cp, [field]: flip(cp[field], i) })).toBe(false);
      }),
    );
    expect(valid({ ...head, seq: head.seq + 1 })).toBe(false);
    expect(checkpointMacValid(key, { ...cp, time: '2026-01-02T03:04:05.679Z' })).toBe(false);
    // A head's MAC never passes as a checkpoint's (distinct labels).
    expect(checkpointMacValid(key, { ...cp, mac: head.mac! })).toBe(false);
  });

  it('property: a bound head is valid for its vault id only, and never as an unbound one', () => {
    const head = parseHead(V.head)!;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (vaultId) => {
        fc.pre(Buffer.from(vaultId).toString('hex') !== V.vaultId);
        expect(headMacKind({ key, vaultId }, head)).toBe('invalid');
        // Another vault's own head is bound there and not here.
        const theirs = parseHead(formatHead({ key, vaultId }, V.seq, V.hash))!;
        expect(headMacKind({ key, vaultId }, theirs)).toBe('bound');
        expect(headMacKind(headKey, theirs)).toBe('invalid');
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a malformed checkpoint with a usage error that names the problem', () => {
    for (const [text, why] of [
      ['', 'five words'],
      ['{', 'does not parse'],
      [V.checkpointLine.replace('/v1', '/v2'), 'format'],
      [V.checkpointLine.replace(' 42 ', ' -1 '), 'seq'],
      [V.checkpointLine.replace('.678Z', ''), 'time'],
    ] as const) {
      expect(() => parseCheckpoint(text)).toThrow(why);
    }
  });
});
