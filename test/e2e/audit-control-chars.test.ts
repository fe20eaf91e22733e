/**
 * Stored text reaches the operator's terminal escaped. Someone who can write vault.db edits
 * old records in place (which, per SECURITY.md, does not stop work) to hold terminal control
 * sequences: ESC [2K and \r to erase a record's line, ESC [1A to climb into the one before,
 * OSC 52 to write the clipboard. `coffer audit`, `audit verify`, `history` and `doctor` show
 * them as visible \xNN text; --json gives them back exactly. `incident` and `rotate`, which
 * list readers and written files from the log, take only records the vault vouches for (an
 * edited one never is: audit-driven-actions.test.ts), and a genuine record holds no control
 * characters (coffer refuses such file paths); their lines go through the same escaping
 * (core/terminal-text.ts) all the same.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { makeHome, type RunResult } from './harness.js';

const PATH = 'project/app/api_key';
/** The intruder's strings (erase the line and return; a clipboard write, then climb and erase). */
const ACTOR = 'cli:root\u001b[2K\r';
const DETAIL = 'ok\u001b]52;c;ZWNobyBwd25lZA==\u0007\r\u001b[1A\u001b[2K';
const C1 = 'dev\u009b2J\u0085';
/** A C0 control other than the line break, DEL, or a C1 control. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is tested.
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

function clean(r: RunResult, what: string): void {
  expect(r.stdout, `${what}: stdout`).not.toMatch(CONTROL);
  expect(r.stderr, `${what}: stderr`).not.toMatch(CONTROL);
}

function vaultWithEditedRecords() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const set = h.run(['set', PATH, '-d', 'Key the app calls the mail provider with'], {
    input: 'value-12345',
  });
  expect(set.code).toBe(0);
  expect(h.run(['list']).code).toBe(0);
  const made = h.run(['token', 'create', '--name', 'ci', '--allow', 'project/app/*']);
  expect(made.code, made.stderr).toBe(0);
  const db = new Database(join(h.env.COFFER_HOME!, 'vault.db'));
  try {
    db.prepare('UPDATE audit SET actor = ?, detail = ? WHERE seq = 2').run(ACTOR, DETAIL);
    db.prepare('UPDATE audit SET env = ?, action = ?, outcome = ? WHERE seq = 3').run(
      C1,
      'list\u001b[8m',
      'ok\r',
    );
    // The token's "last use", as doctor reads it, with a time that clears the screen.
    db.prepare("UPDATE audit SET actor = 'token:ci@127.0.0.1', ts = ? WHERE seq = 1").run(
      '\u001b[2J\u001b[H2020',
    );
    db.prepare('UPDATE secret_versions SET actor = ?').run(ACTOR);
  } finally {
    db.close();
  }
  return h;
}

describe('control characters in stored records', () => {
  it('coffer audit escapes them in its table; --json gives the records exactly', () => {
    const h = vaultWithEditedRecords();
    const r = h.run(['audit']);
    expect(r.code, r.stderr).toBe(0);
    clean(r, 'audit');
    expect(r.stdout).toContain('cli:root\\x1b[2K\\x0d');
    expect(r.stdout).toContain('ok\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x0d\\x1b[1A\\x1b[2K');
    expect(r.stdout).toContain('dev\\x9b2J\\x85');
    // One line per record: nothing started a line of its own.
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => /^\d+ /.test(l))).toHaveLength(lines.length - 1);

    const json = h.run(['audit', '--json']);
    expect(json.code).toBe(0);
    const records = JSON.parse(json.stdout).records as { seq: number; actor: string }[];
    expect(records.find((x) => x.seq === 2)).toMatchObject({ actor: ACTOR, detail: DETAIL });
    expect(records.find((x) => x.seq === 3)).toMatchObject({ env: C1, outcome: 'ok\r' });
  });

  it('audit verify, history and doctor show them escaped too', () => {
    const h = vaultWithEditedRecords();
    const verify = h.run(['audit', 'verify']);
    expect(verify.code).toBe(4);
    clean(verify, 'audit verify');

    const history = h.run(['history', PATH]);
    expect(history.code, history.stderr).toBe(0);
    clean(history, 'history');
    expect(history.stdout).toContain('cli:root\\x1b[2K\\x0d');

    const root = join(h.home, 'project');
    mkdirSync(root);
    execFileSync('git', ['init', '-q', '-b', 'main'], {
      cwd: root,
      env: { ...process.env, HOME: h.home },
    });
    const doctor = h.run(['doctor'], { cwd: root });
    clean(doctor, 'doctor');
    // The edited records break the chain: doctor says so, and takes no fact from the log.
    expect(doctor.stdout).toContain('lifecycle/audit-verify');
    expect(doctor.stdout).not.toContain('token ci was last used');
  });
});
