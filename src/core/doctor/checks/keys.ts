/**
 * Keys: generated keys of at least 16 characters and 128 bits (seed 000's minimum), a backup
 * that holds the old versions of every data-encryption key (tier 3), and no Fernet or
 * envelope key changed without a rewrap (seed 004: "changing this will make existing
 * encrypted data unreadable"). Values are read only to measure them; nothing of a value is
 * reported, not even its length.
 */
import type { SecretInfo } from '../../store/vault-types.js';
import type { DoctorContext } from '../context.js';
import type { Check, Evidence, Fix } from '../types.js';
import { UNVERIFIED } from './util.js';

export const MIN_KEY_LENGTH = 16;
export const MIN_KEY_BITS = 128;

/**
 * An upper estimate of the entropy of a generated value in bits: its length times the bits
 * of the smallest usual alphabet that holds all its characters (digits, hex, alphanumeric,
 * base64/url-safe, printable).
 */
export function estimatedBits(value: string): number {
  const n = value.replace(/=+$/, '').length;
  let perChar: number;
  if (/^[0-9]+$/.test(value)) perChar = Math.log2(10);
  else if (/^[0-9a-f]+$/.test(value) || /^[0-9A-F]+$/.test(value)) perChar = 4;
  else if (/^[A-Za-z0-9]+$/.test(value)) perChar = Math.log2(62);
  else if (/^[A-Za-z0-9+/_-]+=*$/.test(value)) perChar = 6;
  else perChar = Math.log2(95);
  return n * perChar;
}

/** The secrets that are keys coffer or the manifest says are generated (or tier 3). */
async function generatedKeys(ctx: DoctorContext): Promise<SecretInfo[] | undefined> {
  const secrets = await ctx.secrets();
  if (secrets === undefined) return undefined;
  const manifestGenerated = new Set(
    (ctx.manifest()?.variables ?? [])
      .filter((v) => [...v.sources.values()].some((s) => s.kind === 'generate'))
      .map((v) => v.path),
  );
  return secrets.filter(
    (s) => s.generator !== null || s.tier === 3 || manifestGenerated.has(s.path),
  );
}

const weak: Check = {
  id: 'keys/weak',
  category: 'keys',
  severity: 'error',
  title: 'generated keys have at least 16 characters and 128 bits',
  why: 'Seed 000 sets a 16-character minimum for keys, and a key below 128 bits of randomness can be guessed.',
  async run(ctx) {
    const vault = await ctx.vault();
    const keys = await generatedKeys(ctx);
    if (vault === undefined || keys === undefined) return { evidence: [], skipped: 'no vault' };
    // The keys coffer.yaml says are generated are unknown when it could not be read.
    const manifestUnread = ctx.manifestUnread();
    const unread = manifestUnread === undefined ? [] : [manifestUnread];
    if (keys.length === 0) return { evidence: [], unread };
    const outcomes = await vault
      .as(vault.actor)
      .getMany(keys.map((k) => ({ path: k.path, env: k.env, version: k.currentVersion })));
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (const o of outcomes) {
      if (!o.ok) continue;
      const v = o.value.value;
      // A key list (several keys, one per line or comma-separated) is judged by its weakest key.
      const parts = v
        .split(/[\n,]/)
        .map((p) => p.trim())
        .filter((p) => p !== '');
      const short = parts.some((p) => p.length < MIN_KEY_LENGTH);
      const low = parts.some((p) => estimatedBits(p) < MIN_KEY_BITS);
      if (!short && !low) continue;
      const { path, env } = o.value;
      evidence.push({
        keyPath: path,
        env,
        message: `${path} (${env}) is ${short ? `shorter than ${MIN_KEY_LENGTH} characters` : `below ${MIN_KEY_BITS} bits of entropy`}`,
      });
      fixes.push({
        description: `a new random value for ${path}`,
        command: `coffer rotate ${path} --env ${env}`,
      });
    }
    return { evidence, fixes, unread };
  },
};

const backup: Check = {
  id: 'keys/tier3-no-backup',
  category: 'keys',
  severity: 'warning',
  title: 'every data-encryption key (tier 3) is in a backup',
  why: 'Data encrypted under a lost key is lost with it: a backup keeps the key and its old versions.',
  async run(ctx) {
    const secrets = await ctx.secrets();
    const facts = await ctx.auditFacts();
    if (secrets === undefined || facts === undefined) return { evidence: [], skipped: 'no vault' };
    if (!facts.verified) return { evidence: [], skipped: UNVERIFIED };
    const last = facts.lastBackup === undefined ? 0 : Date.parse(facts.lastBackup);
    const evidence: Evidence[] = secrets
      .filter((s) => s.tier === 3 && Date.parse(s.updatedAt) > last)
      .map((s) => ({
        keyPath: s.path,
        env: s.env,
        message: `${s.path} (${s.env}) v${s.currentVersion} is in no backup${facts.lastBackup ? ` (last backup ${facts.lastBackup.slice(0, 10)})` : ''}`,
      }));
    return {
      evidence,
      fixes: [
        {
          description: 'write an encrypted backup of the vault (every version)',
          command: 'coffer backup --passphrase --out coffer-backup.age',
        },
      ],
    };
  },
};

const rewrap: Check = {
  id: 'keys/changed-without-rewrap',
  category: 'keys',
  severity: 'error',
  title: 'no Fernet or envelope key changed without a rewrap',
  why: 'Seed 004: changing an encryption key makes existing encrypted data unreadable unless the data is re-encrypted first (seed 000: never change the key once set).',
  async run(ctx) {
    const secrets = await ctx.secrets();
    const doc = await ctx.rotationDoc();
    if (secrets === undefined || doc === undefined) return { evidence: [], skipped: 'no vault' };
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    const now = ctx.now.getTime();
    for (const s of secrets) {
      const state = doc.secrets[`${s.path} ${s.env}`];
      const keyList = state?.keyring != null || /fernet|envelope|keyring/.test(s.generator ?? '');
      if (s.tier !== 3 && !keyList) continue;
      if (
        state?.keyring != null &&
        state.graceUntil !== null &&
        Date.parse(state.graceUntil) <= now
      ) {
        evidence.push({
          keyPath: s.path,
          env: s.env,
          message: `${s.path} (${s.env}) keeps ${state.oldKeys} old ${state.keyring} key(s) past its grace window: rewrap the data, then finish`,
        });
        fixes.push({
          description: 're-encrypt the data under the new key, then retire the old ones',
          command: `coffer envelope rewrap --help && coffer rotate --finish ${s.path} --env ${s.env} --rewrapped`,
        });
      } else if (s.currentVersion > 1 && (state === undefined || state.rotatedAt === null)) {
        evidence.push({
          keyPath: s.path,
          env: s.env,
          message: `${s.path} (${s.env}) was replaced (v${s.currentVersion}) without coffer rotate: data under the old key may be unreadable`,
        });
        fixes.push({
          description:
            'put the key the data was encrypted with back as a key list, then rotate properly',
          command: `coffer history ${s.path} --env ${s.env} && coffer rotate ${s.path} --env ${s.env}`,
        });
      }
    }
    return { evidence, fixes };
  },
};

export const KEY_CHECKS: readonly Check[] = [weak, backup, rewrap];
