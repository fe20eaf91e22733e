/** Debug traces carry the class, the code and the frames of an error, never its message. */
import { describe, expect, it } from 'vitest';
import { debugTrace } from './debug-trace.js';

describe('debugTrace', () => {
  it('leaves out the message (Node.js quotes the offending value in it), keeps the frames', () => {
    const err = new TypeError(
      "The argument 'options.env['BLOB']' must be a string without null bytes. Received 'sk_live_Wq9\\x00x'",
    ) as TypeError & { code: string };
    err.code = 'ERR_INVALID_ARG_VALUE';
    const trace = debugTrace(new Error('wrapped sk_live_Wq9 again', { cause: err }));
    expect(trace).not.toContain('sk_live_Wq9');
    expect(trace).toContain('TypeError [ERR_INVALID_ARG_VALUE]');
    expect(trace).toMatch(/\n\s+at /);
    expect(debugTrace('a thrown string sk_live_Wq9')).not.toContain('sk_live_Wq9');
  });

  it('a multi-line message is left out entirely', () => {
    const trace = debugTrace(new Error('line one\nsecret-Lz3 on line two\n    at Lz4 (x.js:1:1)'));
    expect(trace).not.toContain('Lz3');
    expect(trace).not.toContain('Lz4');
    expect(trace).toMatch(/\n\s+at /);
  });
});
