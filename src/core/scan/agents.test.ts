import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentFiles } from './agents.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'coffer-agents-'));
  dirs.push(root);
  for (const f of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), '{}\n');
  }
  return root;
}

describe('agent files', () => {
  it('finds transcripts and configuration under HOME and in the project, shown from there', () => {
    const root = tree([
      'home/.claude/projects/-work-app/0b1c.jsonl',
      'home/.claude/projects/-work-app/sub/agent-1.jsonl',
      'home/.claude/projects/-work-app/notes.txt',
      'home/.claude/settings.json',
      'home/.claude.json',
      'home/.codex/config.toml',
      'home/.codex/sessions/2026/12/01/rollout-1.jsonl',
      'home/.codex/history.jsonl',
      'home/.cursor/mcp.json',
      'home/.config/Code/User/mcp.json',
      'home/Library/Application Support/Claude/claude_desktop_config.json',
      'home/work/app/.mcp.json',
      'home/work/app/.vscode/mcp.json',
      'home/work/app/.cursor/mcp.json',
      'home/work/app/src/index.ts',
    ]);
    const home = join(root, 'home');
    const found = agentFiles({ home, project: join(home, 'work/app'), env: {} });
    expect(found.map((f) => [f.shown, f.agent, f.kind])).toEqual([
      ['~/.claude.json', 'Claude Code', 'configuration'],
      ['~/.claude/settings.json', 'Claude Code', 'configuration'],
      ['~/.codex/config.toml', 'Codex', 'configuration'],
      ['~/.cursor/mcp.json', 'Cursor', 'configuration'],
      ['~/.config/Code/User/mcp.json', 'VS Code', 'configuration'],
      [
        '~/Library/Application Support/Claude/claude_desktop_config.json',
        'Claude Desktop',
        'configuration',
      ],
      ['.mcp.json', 'Claude Code', 'configuration'],
      ['.cursor/mcp.json', 'Cursor', 'configuration'],
      ['.vscode/mcp.json', 'VS Code', 'configuration'],
      ['~/.claude/projects/-work-app/0b1c.jsonl', 'Claude Code', 'transcript'],
      ['~/.claude/projects/-work-app/sub/agent-1.jsonl', 'Claude Code', 'transcript'],
      ['~/.codex/sessions/2026/12/01/rollout-1.jsonl', 'Codex', 'transcript'],
      ['~/.codex/history.jsonl', 'Codex', 'transcript'],
    ]);
    expect(found.every((f) => f.path.startsWith(home))).toBe(true);
  });

  it('honours CLAUDE_CONFIG_DIR, CODEX_HOME, XDG_CONFIG_HOME and APPDATA', () => {
    const root = tree([
      'cfg/claude/projects/p/t.jsonl',
      'cfg/codex/config.toml',
      'xdg/Claude/claude_desktop_config.json',
      'appdata/Code/User/mcp.json',
      'home/.claude/projects/p/ignored.jsonl',
    ]);
    const found = agentFiles({
      home: join(root, 'home'),
      env: {
        CLAUDE_CONFIG_DIR: join(root, 'cfg/claude'),
        CODEX_HOME: join(root, 'cfg/codex'),
        XDG_CONFIG_HOME: join(root, 'xdg'),
        APPDATA: join(root, 'appdata'),
      },
    });
    expect(found.map((f) => f.path.slice(root.length + 1)).sort()).toEqual([
      'appdata/Code/User/mcp.json',
      'cfg/claude/projects/p/t.jsonl',
      'cfg/codex/config.toml',
      'xdg/Claude/claude_desktop_config.json',
    ]);
  });

  it('finds nothing in an empty home', () => {
    expect(agentFiles({ home: tree([]), env: {} })).toEqual([]);
  });
});
