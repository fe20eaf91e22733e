/**
 * `.secrets.baseline` in detect-secrets' format (1.x): known findings a project has accepted,
 * so that only new ones fail a check. Read, matched and written compatibly:
 *
 * - `results` maps a file name to entries `{type, filename, hashed_secret, is_verified,
 *   line_number, is_secret?}`; `hashed_secret` is the SHA-1 hex of the secret alone and an
 *   entry's identity is (filename, hashed_secret, type), never the line number;
 * - findings of rules detect-secrets also has (docs/scan.md maps them) use its type names in
 *   `results`, so its hook accepts the file; findings of coffer's own rules go in
 *   `coffer_results` (same entry shape, `type` = coffer's rule id), a key detect-secrets
 *   ignores;
 * - rewriting keeps every field of an entry that is still found (its audit decision
 *   `is_secret`, `is_verified`, any other key), moves its line number, drops entries no longer
 *   found in the files scanned, keeps entries of files not scanned, and keeps the file's other
 *   top-level keys (`plugins_used`, `filters_used`, unknown ones) and their order.
 *
 * Caveat (as with detect-secrets): an unsalted SHA-1 lets whoever reads the baseline confirm
 * a guessed low-entropy secret.
 */
import { CofferError } from '../errors.js';
import type { Finding } from './types.js';

/** One baseline entry; unknown keys are kept as they are. */
export interface BaselineEntry {
  type: string;
  filename: string;
  hashed_secret: string;
  is_verified: boolean;
  line_number?: number;
  is_secret?: boolean;
  [key: string]: unknown;
}

export type BaselineResults = Record<string, BaselineEntry[]>;

/** A baseline: its top-level object as read (key order kept), results split out. */
export interface Baseline {
  /** Every top-level key in file order; `results` and `coffer_results` are the ones below. */
  readonly document: Record<string, unknown>;
  readonly results: BaselineResults;
  readonly cofferResults: BaselineResults;
}

/** The detect-secrets plugins whose findings coffer's rules also make. */
const PLUGINS_USED = [
  { name: 'AWSKeyDetector' },
  { name: 'AzureStorageKeyDetector' },
  { name: 'BasicAuthDetector' },
  { name: 'GitHubTokenDetector' },
  { name: 'GitLabTokenDetector' },
  { name: 'JwtTokenDetector' },
  { name: 'KeywordDetector', keyword_exclude: '' },
  { name: 'NpmDetector' },
  { name: 'OpenAIDetector' },
  { name: 'PrivateKeyDetector' },
  { name: 'SendGridDetector' },
  { name: 'SlackDetector' },
  { name: 'StripeDetector' },
  { name: 'TwilioKeyDetector' },
];

const FILTERS_USED = [
  { path: 'detect_secrets.filters.allowlist.is_line_allowlisted' },
  { path: 'detect_secrets.filters.common.is_baseline_file', filename: '.secrets.baseline' },
  { path: 'detect_secrets.filters.common.is_ignored_due_to_verification_policies', min_level: 2 },
  { path: 'detect_secrets.filters.heuristic.is_indirect_reference' },
  { path: 'detect_secrets.filters.heuristic.is_likely_id_string' },
  { path: 'detect_secrets.filters.heuristic.is_lock_file' },
  { path: 'detect_secrets.filters.heuristic.is_not_alphanumeric_string' },
  { path: 'detect_secrets.filters.heuristic.is_potential_uuid' },
  { path: 'detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign' },
  { path: 'detect_secrets.filters.heuristic.is_sequential_string' },
  { path: 'detect_secrets.filters.heuristic.is_swagger_file' },
  { path: 'detect_secrets.filters.heuristic.is_templated_secret' },
];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(file: string, why: string): CofferError {
  return new CofferError('INVALID_ARGUMENT', `${file} is not a detect-secrets baseline: ${why}`, {
    hint: 'Write a new one with `coffer scan --update-baseline`, or fix the JSON.',
  });
}

function readResults(value: unknown, file: string, key: string): BaselineResults {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalid(file, `"${key}" is not an object`);
  const out: BaselineResults = {};
  for (const [name, list] of Object.entries(value)) {
    if (!Array.isArray(list)) throw invalid(file, `"${key}.${name}" is not a list`);
    out[name] = list.map((e, i) => {
      if (!isObject(e) || typeof e.type !== 'string' || typeof e.hashed_secret !== 'string') {
        throw invalid(file, `entry ${i + 1} of "${name}" lacks type or hashed_secret`);
      }
      // A line number JSON cannot write back (1e999 reads as Infinity) is refused now, not
      // written as null by --update-baseline and refused on the next run for another reason.
      const line = e.line_number;
      if (line !== undefined && !(Number.isSafeInteger(line) && (line as number) >= 0)) {
        throw invalid(
          file,
          `entry ${i + 1} of "${name}" has a line_number that is not a line number`,
        );
      }
      return {
        ...e,
        filename: typeof e.filename === 'string' ? e.filename : name,
        is_verified: e.is_verified === true,
      } as BaselineEntry;
    });
  }
  return out;
}

/** How deep a baseline's JSON may nest: detect-secrets writes 4 levels. */
const MAX_DEPTH = 64;

/** Whether arrays and objects in `value` nest deeper than `max` (walked without recursion). */
function depthOver(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Parses a baseline file's text (`file` names it in errors). */
export function parseBaseline(text: string, file: string): Baseline {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid(file, 'not valid JSON');
  }
  if (!isObject(doc)) throw invalid(file, 'not a JSON object');
  // The document is written back as it is (formatBaseline): JSON.stringify recurses and would
  // overflow the stack on deep nesting that JSON.parse took.
  if (depthOver(doc, MAX_DEPTH)) throw invalid(file, `nested more than ${MAX_DEPTH} levels deep`);
  return {
    document: doc,
    results: readResults(doc.results, file, 'results'),
    cofferResults: readResults(doc.coffer_results, file, 'coffer_results'),
  };
}

/** The section and type a finding is keyed under. */
function keyOf(f: Finding): { coffer: boolean; type: string } {
  return f.detectSecretsType !== undefined
    ? { coffer: false, type: f.detectSecretsType }
    : { coffer: true, type: f.ruleId };
}

const identity = (filename: string, hash: string, type: string) => `${filename}\0${hash}\0${type}`;

/** A set of the identities in a baseline, for `isInBaseline`. */
export function baselineIndex(b: Baseline): Set<string> {
  const s = new Set<string>();
  for (const results of [b.results, b.cofferResults]) {
    for (const [name, list] of Object.entries(results)) {
      for (const e of list) s.add(identity(e.filename ?? name, e.hashed_secret, e.type));
    }
  }
  return s;
}

/** True when the baseline lists the finding (by file, hashed secret and type). */
export function isInBaseline(index: Set<string>, f: Finding): boolean {
  const type = keyOf(f).type;
  return (
    index.has(identity(f.file, f.hashedSecret, type)) ||
    (f.wholeHashedSecret !== undefined && index.has(identity(f.file, f.wholeHashedSecret, type)))
  );
}

function sortEntries(list: BaselineEntry[]): BaselineEntry[] {
  return list.sort(
    (a, b) =>
      (a.line_number ?? 0) - (b.line_number ?? 0) ||
      a.type.localeCompare(b.type) ||
      a.hashed_secret.localeCompare(b.hashed_secret),
  );
}

/** An entry with detect-secrets' key order, its other keys after. */
function entry(e: BaselineEntry): BaselineEntry {
  const { type, filename, hashed_secret, is_verified, line_number, is_secret, ...rest } = e;
  return {
    type,
    filename,
    hashed_secret,
    is_verified,
    ...(line_number !== undefined && line_number > 0 ? { line_number } : {}),
    ...(is_secret !== undefined ? { is_secret } : {}),
    ...rest,
  };
}

function push(results: BaselineResults, file: string, e: BaselineEntry): void {
  const list = results[file];
  if (list === undefined) results[file] = [e];
  else list.push(e);
}

/**
 * The baseline after a scan: the findings of the files in `scanned` (entries already there
 * keep their fields), the old entries of files not scanned, `generated_at` = `now`.
 */
export function updateBaseline(
  old: Baseline | undefined,
  findings: readonly Finding[],
  scanned: ReadonlySet<string>,
  now: Date,
): Baseline {
  const previous = new Map<string, BaselineEntry>();
  const results: BaselineResults = {};
  const cofferResults: BaselineResults = {};
  for (const [src, dst] of [
    [old?.results ?? {}, results],
    [old?.cofferResults ?? {}, cofferResults],
  ] as const) {
    for (const [name, list] of Object.entries(src)) {
      for (const e of list) {
        if (scanned.has(name)) previous.set(identity(name, e.hashed_secret, e.type), e);
        else push(dst, name, e);
      }
    }
  }
  const seen = new Set<string>();
  for (const f of findings) {
    const { coffer, type } = keyOf(f);
    const id = identity(f.file, f.hashedSecret, type);
    if (seen.has(id)) continue;
    seen.add(id);
    // An entry an older coffer keyed by the whole secret keeps its audit fields, rekeyed.
    const kept =
      previous.get(id) ??
      (f.wholeHashedSecret === undefined
        ? undefined
        : previous.get(identity(f.file, f.wholeHashedSecret, type)));
    const e: BaselineEntry = kept
      ? { ...kept, hashed_secret: f.hashedSecret, line_number: f.line }
      : {
          type,
          filename: f.file,
          hashed_secret: f.hashedSecret,
          is_verified: false,
          line_number: f.line,
        };
    push(coffer ? cofferResults : results, f.file, e);
  }
  const sorted = (r: BaselineResults): BaselineResults =>
    Object.fromEntries(
      Object.keys(r)
        .sort()
        .map((k) => [k, sortEntries(r[k]!).map(entry)]),
    );
  const doc: Record<string, unknown> = old
    ? { ...old.document }
    : { version: '1.5.0', plugins_used: PLUGINS_USED, filters_used: FILTERS_USED };
  doc.results = sorted(results);
  const coffer = sorted(cofferResults);
  if (Object.keys(coffer).length > 0 || 'coffer_results' in doc) doc.coffer_results = coffer;
  doc.generated_at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { document: doc, results: doc.results as BaselineResults, cofferResults: coffer };
}

/** The baseline's file text: JSON with two-space indent, as detect-secrets writes it. */
export function formatBaseline(b: Baseline): string {
  return `${JSON.stringify(b.document, null, 2)}\n`;
}
