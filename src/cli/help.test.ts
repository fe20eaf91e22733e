/**
 * The help of every command and command group ends with examples, shows the installed
 * `coffer` (never `npx coffer`, which would fetch a package by name from the registry), and the
 * README claims no option a command does not have (its Commands list, and which commands have
 * --json).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { READ_ONLY_TOOL_NAMES, TOOL_NAMES } from '../mcp/tools/tool-names.js';
import { buildProgram } from './main.js';

const program = await buildProgram([]);
const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

/** Every command and group below the program, with its words (`token list`). */
function commands(): { words: string; cmd: Command }[] {
  const all: { words: string; cmd: Command }[] = [];
  const walk = (parent: Command, prefix: string) => {
    for (const cmd of parent.commands) {
      if (cmd.name() === 'help') continue;
      const words = `${prefix}${cmd.name()}`;
      all.push({ words, cmd });
      walk(cmd, `${words} `);
    }
  };
  walk(program, '');
  return all;
}

const optionNames = (cmd: Command | null): string[] =>
  cmd === null
    ? []
    : [
        ...cmd.options.flatMap((o) => [o.long, o.short].filter((n): n is string => !!n)),
        '--help',
        '-h',
        ...optionNames(cmd.parent),
      ];

describe('--help', () => {
  const all = commands();

  it('covers the groups and their commands', () => {
    const words = all.map((c) => c.words);
    for (const w of ['token', 'token list', 'token revoke', 'key', 'env', 'envelope', 'mcp']) {
      expect(words).toContain(w);
    }
  });

  it.each(all.map((c) => [c.words, c.cmd] as const))('coffer %s has examples', (_w, cmd) => {
    const help = helpOf(cmd);
    expect(help).toMatch(/\nExamples?:\n {2}\S/);
    expect(help).not.toMatch(/\bnpx\b/);
  });

  it('every --env is also -e and every --project also -p, and -e and -p mean nothing else', () => {
    const wrong: string[] = [];
    for (const { words, cmd } of all) {
      for (const o of cmd.options) {
        const pair = `${o.short ?? '(none)'} ${o.long ?? ''}`;
        if (o.long === '--env' && o.short !== '-e') wrong.push(`coffer ${words}: ${pair}`);
        if (o.long === '--project' && o.short !== '-p') wrong.push(`coffer ${words}: ${pair}`);
        if (o.short === '-e' && o.long !== '--env') wrong.push(`coffer ${words}: ${pair}`);
        if (o.short === '-p' && o.long !== '--project') wrong.push(`coffer ${words}: ${pair}`);
      }
    }
    expect(wrong).toEqual([]);
    // The walk saw the commands the options live on.
    const withEnv = all.filter((c) => c.cmd.options.some((o) => o.long === '--env'));
    expect(withEnv.map((c) => c.words)).toEqual(expect.arrayContaining(['token create', 'get']));
  });

  it('coffer mcp --help and the README name exactly the tools --read-only offers', () => {
    const mcp = all.find((c) => c.words === 'mcp')!.cmd;
    const readOnly = mcp.options.find((o) => o.long === '--read-only')!.description;
    const named = (text: string) => [...text.matchAll(/\b[a-z]+_[a-z]+\b/g)].map((m) => m[0]);
    expect(named(readOnly)).toEqual(READ_ONLY_TOOL_NAMES);
    expect(readOnly).toContain(`the ${READ_ONLY_TOOL_NAMES.length} tools`);
    const help = helpOf(mcp).replace(/\s+/g, ' ');
    for (const name of TOOL_NAMES) expect(help).toContain(name);
    const line = README.match(/- `--read-only` offers only[\s\S]*?\.\n/)?.[0] ?? '';
    expect(named(line)).toEqual(READ_ONLY_TOOL_NAMES);
  });

  it('the program help shows the installed coffer', () => {
    expect(helpOf(program)).not.toMatch(/\bnpx\b/);
  });
});

describe('README', () => {
  const all = commands();
  const byWords = new Map(all.map((c) => [c.words, c.cmd]));

  it('names --json for exactly the commands that lack it', () => {
    const line = README.match(/- \*\*Scripts\*\*:[\s\S]*?\n\n?(?=- |\n)/)?.[0] ?? '';
    const except = line.match(/`--json` output except ([^(.]*)/)?.[1] ?? '';
    const claimed = [...except.matchAll(/`([a-z ]+)`/g)].map((m) => m[1]).sort();
    const lacking = all
      .filter((c) => c.cmd.commands.length === 0)
      .filter((c) => !c.cmd.options.some((o) => o.long === '--json'))
      .map((c) => c.words)
      .sort();
    expect(lacking.length).toBeGreaterThan(0);
    expect(claimed).toEqual(lacking);
    expect(README).not.toMatch(/every command has `--json`/);
  });

  it('the Commands list names only options each command has', () => {
    const list = README.match(/## Commands\n\n```\n([\s\S]*?)```/)?.[1];
    expect(list).toBeDefined();
    let checked = 0;
    for (const raw of list!.split('\n')) {
      const line = raw.replace(/ {2,}\S.*$/, ''); // a trailing note after two spaces
      for (const piece of splitTop(line.replace(/^coffer /, ''))) {
        const tokens = piece
          .trim()
          .replace(/^coffer /, '')
          .split(/\s+/);
        let words = '';
        for (const t of tokens) {
          const next = words ? `${words} ${t}` : t;
          if (!byWords.has(next)) break;
          words = next;
        }
        if (!words) continue;
        const cmd = byWords.get(words)!;
        const have = optionNames(cmd);
        for (const option of piece.match(/(?<![\w-])--?[a-z][\w-]*/g) ?? []) {
          expect(have, `README: coffer ${piece.trim()}`).toContain(option);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('runs the installed coffer, never npx', () => {
    const blocks = [...README.matchAll(/^```.*\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThan(5);
    for (const block of blocks) expect(block).not.toMatch(/\bnpx\b/);
  });
});

/** Splits "a | b (c | d) | e" at the top-level bars. */
function splitTop(line: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '|' && depth === 0) {
      out.push(line.slice(start, i));
      start = i + 1;
    }
  }
  out.push(line.slice(start));
  return out;
}
