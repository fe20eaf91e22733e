import { describe, expect, it } from 'vitest';
import { TOOLS } from './index.js';
import { READ_ONLY_TOOL_NAMES, TOOL_NAMES, toolList } from './tool-names.js';

describe('the tool names coffer mcp --help shows', () => {
  it('are the tools the server offers, in order', () => {
    expect(TOOL_NAMES).toEqual(TOOLS.map((t) => t.name));
  });

  it('with --read-only, exactly those whose readOnlyHint is true', () => {
    expect(READ_ONLY_TOOL_NAMES).toEqual(
      TOOLS.filter((t) => t.annotations.readOnlyHint).map((t) => t.name),
    );
  });

  it('are listed in words', () => {
    expect(toolList(['a', 'b', 'c'])).toBe('a, b and c');
    expect(toolList(['a'])).toBe('a');
  });
});
