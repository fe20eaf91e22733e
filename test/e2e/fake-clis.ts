/**
 * Stand-ins for the `gh` and `fly` CLIs that `coffer sync` runs: node scripts that record
 * their argv in $FAKE_CLOUD/argv.log and keep the secrets they are given in JSON files there
 * (gh.json, fly.json). `fly secrets unset` leaves the app name ($FAKE_APP) alone.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
/** `gh`: repo view ($FAKE_GH_REPO), secret list, set (stdin), delete; one state per repo. */
export const FAKE_GH: string = `#!/usr/bin/env node
const fs = require('fs'), path = require('path');
const dir = process.env.FAKE_CLOUD, a = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'argv.log'), JSON.stringify(['gh', ...a]) + '\\n');
// gh repo view: the repository of the working directory (FAKE_GH_REPO), or none.
if (a[0] === 'repo' && a[1] === 'view') {
  if (!process.env.FAKE_GH_REPO) { process.stderr.write('not a git repository\\n'); process.exit(1); }
  process.stdout.write(process.env.FAKE_GH_REPO + '\\n');
  process.exit(0);
}
// One state per repository; acme/consilio's is gh.json.
const repo = a[a.indexOf('--repo') + 1];
const file = path.join(dir, repo === 'acme/consilio' ? 'gh.json' : 'gh-' + repo.replace(/\\W/g, '_') + '.json');
const state = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
if (a[1] === 'set' && a[2] === process.env.FAKE_FAIL) process.exit(1);
if (a[1] === 'list') process.stdout.write(JSON.stringify(Object.keys(state).map((name) => ({ name }))));
// gh reads stdin and trims the line breaks at its end (pkg/cmd/secret/set: TrimRight "\\r\\n").
else if (a[1] === 'set') state[a[2]] = fs.readFileSync(0, 'utf8').replace(/[\\r\\n]+$/, '');
else if (a[1] === 'delete') delete state[a[2]];
fs.writeFileSync(file, JSON.stringify(state));
`;

/** `fly`: secrets list, import (stdin, parsed as flyctl does), unset. */
export const FAKE_FLY: string = `#!/usr/bin/env node
const fs = require('fs'), path = require('path');
const dir = process.env.FAKE_CLOUD, a = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'argv.log'), JSON.stringify(['fly', ...a]) + '\\n');
const file = path.join(dir, 'fly.json');
const state = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
if (a[1] === 'list') process.stdout.write(JSON.stringify(Object.keys(state).map((Name) => ({ Name, Digest: 'x' }))));
else if (a[1] === 'import') {
  // flyctl's parseSecrets (internal/command/secrets/parser.go), line by line.
  const lines = fs.readFileSync(0, 'utf8').split('\\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let key, val;
  for (let line of lines) {
    if (line.endsWith('\\r')) line = line.slice(0, -1);
    if (key !== undefined) {
      if (line.endsWith('"""')) { state[key] = val + line.slice(0, -3); key = undefined; }
      else val += line + '\\n';
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.indexOf('=');
    const k = line.slice(0, at).trim();
    let v = line.slice(at + 1).replace(/^ +/, '');
    if (v.startsWith('"""')) { key = k; val = v.slice(3) + '\\n'; continue; }
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    state[k] = v;
  }
} else if (a[1] === 'unset') for (const n of a.slice(2).filter((x) => !x.startsWith('-') && x !== process.env.FAKE_APP)) delete state[n];
fs.writeFileSync(file, JSON.stringify(state));
`;

/** Puts `gh` and `fly` into `bin` (made if missing), ready to go first on PATH. */
export function installFakeClis(bin: string): void {
  mkdirSync(bin, { recursive: true });
  for (const [name, script] of [
    ['gh', FAKE_GH],
    ['fly', FAKE_FLY],
  ] as const) {
    writeFileSync(join(bin, name), script);
    chmodSync(join(bin, name), 0o755);
  }
}
