/**
 * `coffer incident PATH`: the whole leak checklist for one secret, resumable. It opens the
 * incident (or resumes the open one), rotates unless that step is done, lists where the value
 * went and who read it, checks the prevention items and writes the report. Each step done is
 * recorded with its time, so a run killed half-way goes on from where it stopped.
 *
 * The front end gives the manifest's generator and `previous:` name, asks for the new value
 * of an external secret when asked to (`newValue`), and prints the result.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileExistsError, writeSecretFile } from '../files.js';
import { parseEnvironment, parseKeyPath } from '../paths.js';
import { type VouchedPlaces, valuePlaces } from '../rotation/places.js';
import {
  finishRotation,
  planRotation,
  type RotateResult,
  rotatedSinceInGrace,
  rotateSecret,
} from '../rotation/rotate.js';
import { hasStep, type IncidentRecord } from '../rotation/state.js';
import type { Vault } from '../store/vault.js';
import { addIncidentStep, listIncidents, openIncident } from './incident.js';
import { preventionChecks } from './prevention.js';
import { incidentReport, type PreventionCheck } from './report.js';

export interface IncidentResponseOptions {
  path: string;
  env: string;
  /** Where the leak was seen (goes into the record and the report). */
  where?: string | undefined;
  /** How far back before the incident opened to look for reads and writes. */
  sinceMs: number;
  /** The rotation's grace window (0: the leaked version is retired at once). */
  graceMs: number;
  /** The generator the manifest gives the secret, or null. */
  generator: string | null;
  /** The manifest's `previous:` variable name, or null. */
  previousName: string | null;
  /** What this machine allows as a previous name (RotateOptions.allowEnvNames). */
  allowEnvNames?: readonly string[] | undefined;
  /** The Markdown report: its file, and whether a file that is not this incident's may go. */
  report?: { file: string; force: boolean } | undefined;
  /** The project directory whose prevention items are checked. */
  dir: string;
  /**
   * The new value of an external secret (one coffer does not generate), asked for only when
   * the rotation step is still to do; undefined when there is none to give (the rotation then
   * fails with ROTATION_VALUE_REQUIRED and the incident stays open for the next run).
   */
  newValue: () => Promise<string | undefined>;
  /** Told once the incident is opened or resumed, before any step (a front end says so). */
  onOpened?: (incident: IncidentRecord, resumed: boolean) => void;
}

export interface IncidentResponse {
  incident: IncidentRecord;
  /** An incident on this secret was already open: its steps done are not repeated. */
  resumed: boolean;
  /** The rotation made by this run (undefined when an earlier run made it). */
  rotated?: RotateResult;
  /** From the audit records the vault vouches for (`trust` says which were not used). */
  places: VouchedPlaces;
  prevention: PreventionCheck[];
  /** The report file written, if one was asked for. */
  reportFile?: string;
}

/** `record` as the store has it now (a step another transaction added included). */
async function reload(vault: Vault, record: IncidentRecord): Promise<IncidentRecord> {
  return (await listIncidents(vault)).find((i) => i.id === record.id) ?? record;
}

/**
 * Refuses a report file that exists and is not this incident's own (the same path written by
 * an earlier run of the open incident), before anything is recorded.
 */
async function checkReportFile(
  vault: Vault,
  path: string,
  env: string,
  report: { file: string; force: boolean },
): Promise<void> {
  if (report.force || !existsSync(report.file)) return;
  const open = (await listIncidents(vault)).find(
    (i) => i.path === path && i.env === env && i.closedAt === null,
  );
  const own = open?.steps.some(
    (s) => s.step === 'report written' && resolve(s.detail) === resolve(report.file),
  );
  if (own === true) return;
  throw fileExistsError(report.file, '--report');
}

export async function respondToIncident(
  vault: Vault,
  options: IncidentResponseOptions,
): Promise<IncidentResponse> {
  const path = parseKeyPath(options.path).path;
  const env = parseEnvironment(options.env);
  if (options.report !== undefined) await checkReportFile(vault, path, env, options.report);
  const opened = await openIncident(vault, { path, env, where: options.where });
  let record = opened.incident;
  options.onOpened?.(record, opened.resumed);
  let rotated: RotateResult | undefined;
  if (
    !hasStep(record, 'rotated') &&
    (await rotatedSinceInGrace(vault, path, env, record.openedAt))
  ) {
    // Rotated by hand since the leak, with a grace window: the leaked version is still
    // injected. Finishing that rotation retires it; rotating again would ask for another value.
    // finishRotation records it as this incident's `rotated` step, in its own transaction.
    await finishRotation(vault, { path, env });
    record = await reload(vault, record);
  }
  if (!hasStep(record, 'rotated')) {
    const plan = await planRotation(vault, path, env, options.generator);
    const value = plan.kind === 'external' ? await options.newValue() : undefined;
    // The `rotated` step commits with the rotation itself (resumable after a kill).
    rotated = await rotateSecret(vault, {
      path,
      env,
      graceMs: options.graceMs,
      value,
      generator: options.generator,
      previousName: options.previousName,
      allowEnvNames: options.allowEnvNames,
      incidentId: record.id,
    });
    record = await reload(vault, record);
  }
  const since = new Date(Date.parse(record.openedAt) - options.sinceMs);
  const places = await valuePlaces(vault, path, env, { since });
  // Not done while the audit log does not verify (nothing is listed then): a run after the
  // break is acknowledged lists them.
  if (!hasStep(record, 'listed places') && places.trust.verified) {
    record = await addIncidentStep(
      vault,
      record.id,
      'listed places',
      `${places.files.length} files, ${places.programs.length} programs, ${places.reads.length} reads`,
    );
  }
  const prevention = preventionChecks(options.dir);
  if (!hasStep(record, 'checked prevention')) {
    record = await addIncidentStep(
      vault,
      record.id,
      'checked prevention',
      prevention.map((c) => `${c.item}: ${c.ok ? 'ok' : 'missing'}`).join(', '),
    );
  }
  const result: IncidentResponse = {
    incident: record,
    resumed: opened.resumed,
    ...(rotated !== undefined ? { rotated } : {}),
    places,
    prevention,
  };
  if (options.report !== undefined) {
    const file = options.report.file;
    if (!hasStep(record, 'report written'))
      record = await addIncidentStep(vault, record.id, 'report written', file);
    writeSecretFile(file, incidentReport(record, places, prevention), { overwrite: true });
    result.incident = record;
    result.reportFile = file;
  }
  return result;
}
