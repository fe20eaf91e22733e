/**
 * The shapes the scanner shares with its front ends: a rule, a finding, and where a line came
 * from. A finding names a file, a line, a column and a rule, and for a stored value its key
 * path; it never holds the secret itself, only a masked preview and the SHA-1 that
 * detect-secrets' baseline format keys on.
 */

/** Where a scanned line comes from: a file in the work tree, the index, or a commit. */
export interface LineOrigin {
  /** Path as shown and as keyed in a baseline (forward slashes, relative to the root). */
  readonly file: string;
  /** The commit that added the line (`--history`). */
  readonly commit?: string | undefined;
}

/** One secret found. */
export interface Finding {
  /** Stable rule id (docs/scan.md lists them). */
  readonly ruleId: string;
  /** What the rule finds, for people. */
  readonly description: string;
  readonly file: string;
  /** 1-based line and column of the secret; endColumn is exclusive. */
  readonly line: number;
  readonly column: number;
  readonly endColumn: number;
  readonly commit?: string | undefined;
  /** The matched text with everything but a public prefix replaced (never the secret). */
  readonly masked: string;
  /** SHA-1 hex of the secret as detect-secrets computes it (baseline identity). */
  readonly hashedSecret: string;
  /**
   * SHA-1 hex of the whole secret, where detect-secrets hashes only part of it (Stripe):
   * what baselines written by older coffer versions hold, still honoured.
   */
  readonly wholeHashedSecret?: string | undefined;
  /** detect-secrets' type name when a detect-secrets plugin finds the same thing. */
  readonly detectSecretsType?: string | undefined;
  /** True when a checksum or a structure check confirmed the format. */
  readonly validated: boolean;
  /** For a stored value: its key path, environment and the encoding found. */
  readonly keyPath?: string | undefined;
  readonly env?: string | undefined;
  readonly encoding?: string | undefined;
}
