/** Entry point of the `coffer` binary. */
import { main } from './main.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`coffer: error: internal error (${(err as Error)?.name ?? 'unknown'})\n`);
  if (process.env.COFFER_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
  process.exitCode = 1;
});
