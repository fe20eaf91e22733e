/**
 * Which secret each variable of a .env file becomes on `coffer env import`: KEY ->
 * `project/{project}/{key normalized}` (paths.ts: lowercase, `.` and other characters -> `_`).
 * That mapping is many-to-one: `API_KEY` and `api_key`, or `FOO.BAR` and `FOO_BAR`, land on
 * the same path, and importing both would report both as imported while the second silently
 * replaced the first. Such a file is refused as a whole, before anything is stored, naming
 * both variables and their lines. (A key repeated verbatim is not a collision: dotenv reads
 * the last occurrence, and so does coffer.)
 */
import { CofferError } from '../errors.js';
import { envVarNameFor, isEnvVarName, normalizeSegment } from '../paths.js';
import { parseDotenvLines } from './parse.js';

export interface ImportEntry {
  /** The variable as written in the file. */
  readonly key: string;
  /** The secret name it maps to ('' when no valid name can be made from it). */
  readonly name: string;
  /** The value dotenv reads (the last occurrence of the key). */
  readonly value: string;
  /** 1-based line of that occurrence. */
  readonly line: number;
}

/** 1-based line number of each offset in `offsets` (ascending), counting LF, CR LF and CR. */
function lineNumbers(text: string, offsets: readonly number[]): number[] {
  const out: number[] = [];
  let line = 1;
  let at = 0;
  for (const target of offsets) {
    for (; at < target; at++) {
      const c = text.charCodeAt(at);
      if (c === 0x0a || (c === 0x0d && text.charCodeAt(at + 1) !== 0x0a)) line++;
    }
    out.push(line);
  }
  return out;
}

/**
 * The variables of `text` in file order with the secret name each maps to; throws
 * INVALID_ARGUMENT when two different variables map to the same name.
 */
export function importEntries(text: string): ImportEntry[] {
  const pairs = parseDotenvLines(text).filter((e) => e.kind === 'pair');
  const lines = lineNumbers(
    text,
    pairs.map((p) => p.start),
  );
  // dotenv's result: keys in order of first appearance, each with its last occurrence's value;
  // `__proto__` dropped as dotenv drops it.
  const last = new Map<string, ImportEntry>();
  pairs.forEach((p, i) => {
    if (p.key === '__proto__') return;
    last.set(p.key, { key: p.key, name: normalizeSegment(p.key), value: p.value, line: lines[i]! });
  });
  const entries = [...last.values()];
  const byName = new Map<string, ImportEntry>();
  const clashes: string[] = [];
  for (const e of entries) {
    if (e.name === '') continue;
    const first = byName.get(e.name);
    if (first === undefined) byName.set(e.name, e);
    else
      clashes.push(
        `${first.key} (line ${first.line}) and ${e.key} (line ${e.line}) both become ${e.name}`,
      );
  }
  if (clashes.length > 0) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `nothing imported: ${clashes.slice(0, 5).join('; ')}${clashes.length > 5 ? `; and ${clashes.length - 5} more` : ''}`,
      { hint: 'Rename or remove one variable of each pair, then import again.' },
    );
  }
  return entries;
}

/**
 * The `envVar` metadata an imported variable keeps: undefined when its secret's name gives
 * the same variable name (`STRIPE_KEY` -> stripe_key), else the file's key, which programs
 * must still be given under that name. Throws INVALID_ARGUMENT, per variable, for a key no
 * program could be given (`MAIL.PASSWORD`, `X-Y`): the vault would refuse it for the whole
 * import.
 */
export function importEnvVar(entry: Pick<ImportEntry, 'key' | 'name'>): string | undefined {
  if (envVarNameFor(entry.name) === entry.key) return undefined;
  if (!isEnvVarName(entry.key)) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `${entry.key} is not a valid environment variable name (letters, digits and _), so no program could be given it`,
    );
  }
  return entry.key;
}
