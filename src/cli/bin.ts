/** Entry point of the `coffer` binary. */
import { debugTrace } from '../core/debug-trace.js';
import { exitIfDone } from './exit.js';
import { main } from './main.js';

/**
 * Build time only (scripts/build.mjs): with COFFER_WRITE_CODE_CACHE set to a JSON list of
 * argument lists, run each command in this one process, so that the V8 code cache the loader
 * writes at exit holds the compiled code of all of them (`get`, `run`, ...), not just one.
 */
async function runAll(list: string): Promise<void> {
  const commands = JSON.parse(list) as string[][];
  for (const args of commands) {
    await main([process.argv[0]!, process.argv[1]!, ...args]);
    process.exitCode = undefined;
  }
}

// SIGUSR1 would open Node's inspector (an unauthenticated debugger on 127.0.0.1:9229) in a
// process that holds the master key: a listener keeps it shut, whatever the command (`run`
// adds its own, which passes the signal on to the program).
process.on('SIGUSR1', () => {});

const warmUp = process.env.COFFER_WRITE_CODE_CACHE;
(warmUp?.startsWith('[') ? runAll(warmUp) : main(process.argv).then(exitIfDone)).catch(
  (err: unknown) => {
    process.stderr.write(`coffer: error: internal error (${(err as Error)?.name ?? 'unknown'})\n`);
    if (process.env.COFFER_DEBUG) process.stderr.write(`${debugTrace(err)}\n`);
    process.exitCode = 1;
  },
);
