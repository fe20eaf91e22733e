/**
 * `coffer incident`: the leak-response checklist for one secret as a record with timestamps,
 * kept in the rotation state (rotation/state.ts) so that it survives a kill and the command
 * resumes where it stopped. Opening one marks the secret compromised (`rotation status`
 * shows it until it is rotated); each step done is appended with its time; the Markdown
 * report is made from the record and the audit log and never holds a value.
 *
 * An agent may open an incident (MCP `report_leak`) but only a person closes one.
 */
import { randomBytes } from 'node:crypto';
import { openSecret } from '../crypto/envelope.js';
import { CofferError } from '../errors.js';
import type { Keyring } from '../keys/keyring.js';
import { parseEnvironment, parseKeyPath } from '../paths.js';
import { createRedactor } from '../redact/redact.js';
import {
  emptySecretRotation,
  type IncidentRecord,
  readRotationDoc,
  slotKey,
  writeRotationDoc,
} from '../rotation/state.js';
import type { StorageTx } from '../store/storage.js';
import type { Vault } from '../store/vault.js';

export type { IncidentRecord, IncidentStep } from '../rotation/state.js';

const MAX_WHERE = 500;

function cleanText(text: string, what: string): string {
  if (
    typeof text !== 'string' ||
    text.length > MAX_WHERE ||
    /[\p{Cc}]/u.test(text.replace(/\n/g, ' '))
  ) {
    throw new CofferError('INVALID_ARGUMENT', `${what}: at most ${MAX_WHERE} characters of text`);
  }
  return text.trim();
}

/**
 * `where` as it may be kept: whoever reports a leak tends to quote the line they saw
 * (`API_KEY=...`), and the record is listed, shown in the web UI and copied into the report
 * that is shared. Every stored version of the secret (each encoded form too) and anything
 * shaped like a provider's key becomes the redaction marker. A version that can no longer
 * be opened (its key retired) is not looked for.
 */
async function withoutValues(
  tx: StorageTx,
  keyring: Keyring,
  path: string,
  env: string,
  where: string,
): Promise<string> {
  if (where === '') return where;
  const values: string[] = [];
  for (const v of await tx.listVersions(path, env)) {
    let plain: Buffer | undefined;
    try {
      plain = openSecret(await keyring.kek(tx, v.kekId), v.kekId, v.wrappedDek, v.ciphertext, {
        path,
        env,
        version: v.version,
      });
      values.push(plain.toString('utf8'));
    } catch (err) {
      if (!(err instanceof CofferError)) throw err;
    } finally {
      plain?.fill(0);
    }
  }
  return createRedactor({ values, patterns: true }).redactString(where);
}

/**
 * Opens an incident on `path` (`env`), or returns the open one (resumed): marks the secret
 * compromised, audited as `incident_open`.
 */
export function openIncident(
  vault: Vault,
  options: { path: string; env: string; where?: string | undefined },
): Promise<{ incident: IncidentRecord; resumed: boolean }> {
  const path = parseKeyPath(options.path).path;
  const env = parseEnvironment(options.env);
  const told = cleanText(options.where ?? '', 'where');
  return vault.auditedTransaction<{ incident: IncidentRecord; resumed: boolean }>(
    'incident_open',
    async (tx, keyring) => {
      const secret = await tx.getSecret(path, env);
      if (secret === undefined)
        throw new CofferError('SECRET_NOT_FOUND', `no secret ${path} in environment ${env}`);
      const doc = await readRotationDoc(tx, keyring);
      const open = doc.incidents.find(
        (i) => i.path === path && i.env === env && i.closedAt === null,
      );
      if (open !== undefined) {
        return { result: { incident: open, resumed: true }, detail: `resumed ${open.id}` };
      }
      const where = await withoutValues(tx, keyring, path, env, told);
      const now = new Date().toISOString();
      const incident: IncidentRecord = {
        id: `inc-${now.slice(0, 10).replace(/-/g, '')}-${randomBytes(3).toString('hex')}`,
        path,
        env,
        openedAt: now,
        openedBy: vault.actor,
        where,
        closedAt: null,
        closedBy: null,
        steps: [{ step: 'marked compromised', at: now, detail: where }],
      };
      doc.incidents.push(incident);
      const key = slotKey(path, env);
      doc.secrets[key] = { ...(doc.secrets[key] ?? emptySecretRotation()), compromisedAt: now };
      await writeRotationDoc(tx, keyring, doc);
      return { result: { incident, resumed: false }, detail: `opened ${incident.id}` };
    },
  );
}

/** Appends a step (with its time) to an open incident; audited as `incident_step`. */
export function addIncidentStep(
  vault: Vault,
  id: string,
  step: string,
  detail = '',
): Promise<IncidentRecord> {
  return vault.auditedTransaction('incident_step', async (tx, keyring) => {
    const doc = await readRotationDoc(tx, keyring);
    const incident = doc.incidents.find((i) => i.id === id);
    if (incident === undefined) throw notFound(id);
    incident.steps.push({
      step,
      at: new Date().toISOString(),
      detail: cleanText(detail, 'detail'),
    });
    await writeRotationDoc(tx, keyring, doc);
    return { result: incident, detail: `${id}: ${step}` };
  });
}

/** Closes an incident (people only: no MCP tool does this); audited as `incident_close`. */
export function closeIncident(vault: Vault, id: string): Promise<IncidentRecord> {
  return vault.auditedTransaction('incident_close', async (tx, keyring) => {
    const doc = await readRotationDoc(tx, keyring);
    const incident = doc.incidents.find((i) => i.id === id);
    if (incident === undefined) throw notFound(id);
    if (incident.closedAt === null) {
      const now = new Date().toISOString();
      incident.closedAt = now;
      incident.closedBy = vault.actor;
      incident.steps.push({ step: 'closed', at: now, detail: '' });
      await writeRotationDoc(tx, keyring, doc);
    }
    return { result: incident, detail: `closed ${id}` };
  });
}

/** Every incident, newest first. */
export function listIncidents(vault: Vault): Promise<IncidentRecord[]> {
  return vault.readTransaction(async (tx, keyring) => {
    const doc = await readRotationDoc(tx, keyring);
    return [...doc.incidents].reverse();
  });
}

function notFound(id: string): CofferError {
  return new CofferError('INCIDENT_NOT_FOUND', `no incident ${JSON.stringify(id.slice(0, 40))}`);
}
